from workbench.core.types import DnsQueryType, SendInfo
from workbench.session.call_log import CallLog, CallLogEntry, format_call, js_value
from workbench.session.keys import SocketKey, SocketKind


def test_entries_are_kept_in_order_and_announced() -> None:
    log = CallLog()
    seen: list[CallLogEntry] = []
    log.added.add_listener(seen.append)
    first = log.add(SocketKey.tcp(1), "one")
    second = log.add(None, "two", ok=False)
    assert log.entries() == [first, second] == seen
    assert first.socket_id == 1 and second.socket_id is None and not second.ok


def test_the_limit_keeps_the_newest_entries() -> None:
    log = CallLog(limit=100)
    for i in range(250):
        log.add(None, str(i))
    texts = [e.text for e in log.entries()]
    assert len(texts) <= 100
    assert texts[-1] == "249"
    assert texts == [str(i) for i in range(250 - len(texts), 250)]


def test_clear_empties_and_announces() -> None:
    log = CallLog()
    cleared: list[None] = []
    log.cleared.add_listener(cleared.append)
    log.add(None, "x")
    log.clear()
    assert log.entries() == [] and cleared == [None]


def test_calls_read_like_chrome_developer_tools() -> None:
    text = format_call(SocketKind.TCP.api, "connect", (3, "localhost", 7, DnsQueryType.IPV4), "0")
    assert text == 'chrome.sockets.tcp.connect(3, "localhost", 7, "ipv4") → 0'
    assert js_value(b"abc") == "<3 bytes>"
    assert js_value(None) == "undefined"
    assert js_value(True) == "true"
    assert js_value(SendInfo(result_code=0, bytes_sent=2)) == '{"resultCode":0,"bytesSent":2}'
    assert SocketKind.UDP.api == "chrome.sockets.udp"
    assert SocketKind.TCP_SERVER.api == "chrome.sockets.tcpServer"
