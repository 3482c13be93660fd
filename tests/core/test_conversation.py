"""Reading conversation files: the fixed keys, every step kind, variables, and bad files refused
with the file, the line and the reason before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.conversation import (
    DEFAULT_TIMEOUT,
    ConversationError,
    ConversationErrors,
    Step,
    Verb,
    load_conversations,
    parse_conversation,
    secure_options,
    send_bytes,
    substitute,
)
from workbench.core.types import DnsQueryType, TLSVersionConstraints

SMTP = """\
name = "SMTP greeting and STARTTLS"
host = "127.0.0.1"
port = 2525
timeout = 2.5
dns = "ipv4"

[tls]
server_name = "mail.test"
verify = false
min_version = "tls1.2"

[[steps]]
expect = "220 "
[[steps]]
send = 'EHLO me\\r\\n'
[[steps]]
expect_regex = '250[- ](?P<ext>STARTTLS)'
[[steps]]
starttls = { server_name = "mail.test" }
[[steps]]
send_hex = "00 01 ff"
[[steps]]
expect_hex = "00 01"
timeout = 0.5
[[steps]]
sleep = 0.2
[[steps]]
expect_closed = -100
"""


def error_of(text: str, variables: dict[str, str] | None = None) -> ConversationError:
    with pytest.raises(ConversationError) as caught:
        parse_conversation(text, "conv.toml", variables)
    return caught.value


def test_every_key_and_step_kind_is_read() -> None:
    conversation = parse_conversation(SMTP, "smtp.toml")
    assert conversation.title == "SMTP greeting and STARTTLS"
    assert (conversation.host, conversation.port) == ("127.0.0.1", 2525)
    assert conversation.timeout == 2.5
    assert conversation.dns is DnsQueryType.IPV4
    assert conversation.tls is not None
    assert conversation.tls.server_name == "mail.test" and conversation.tls.verify is False
    assert conversation.tls.tls_version == TLSVersionConstraints(min="tls1.2")
    verbs = [step.verb for step in conversation.steps]
    assert sorted(verbs) == sorted(Verb)  # each kind once
    assert verbs[:3] == [Verb.EXPECT, Verb.SEND, Verb.EXPECT_REGEX]
    assert [step.index for step in conversation.steps] == list(range(8))
    # Each step's time-out is the file's, unless it sets its own.
    assert [step.timeout for step in conversation.steps][4:6] == [2.5, 0.5]
    assert conversation.steps[1].line == 15  # the line of its verb
    assert conversation.steps[3].value == {"server_name": "mail.test"}
    assert conversation.steps[7].value == -100


def test_defaults_and_the_title_falls_back_to_the_file_name() -> None:
    conversation = parse_conversation('host = "h"\nport = 7\n', "dir/echo.toml")
    assert conversation.title == "echo.toml"
    assert conversation.timeout == DEFAULT_TIMEOUT
    assert conversation.dns is DnsQueryType.ANY
    assert conversation.tls is None and conversation.steps == ()


def test_labels_show_the_verb_and_the_value_as_written() -> None:
    conversation = parse_conversation(SMTP, "smtp.toml")
    labels = [step.label() for step in conversation.steps]
    assert labels[2] == "expect_regex '250[- ](?P<ext>STARTTLS)'"
    assert labels[1] == "send 'EHLO me\\r\\n'"
    assert labels[6] == "sleep 0.2"
    assert labels[7] == "expect_closed -100"
    assert labels[3] == "starttls {server_name = 'mail.test'}"


# -- bad files -------------------------------------------------------------------------------


def test_invalid_toml_names_the_file_and_the_line() -> None:
    error = error_of('host = "h"\nport = 1\n[[steps]]\nsend = "unterminated\n')
    assert error.path == "conv.toml" and error.line == 4
    assert str(error).startswith("conv.toml:4: not valid TOML")


def test_a_missing_host_or_port_is_refused() -> None:
    assert "'host' is required" in str(error_of("port = 1\n"))
    assert "'port' is required" in str(error_of('host = "h"\n'))
    assert "from 1 to 65535" in str(error_of('host = "h"\nport = 70000\n'))


def test_an_unknown_key_is_an_error_that_names_it() -> None:
    error = error_of('host = "h"\nport = 1\ncolour = "red"\n')
    assert error.line == 3 and "'colour'" in error.reason
    error = error_of('host = "h"\nport = 1\n[[steps]]\nsend = "a"\nretries = 3\n')
    assert error.line == 5 and "'retries'" in error.reason
    error = error_of('host = "h"\nport = 1\n[tls]\ncipher = "x"\n')
    assert "'cipher'" in error.reason


def test_a_step_with_two_verbs_or_none_is_refused_at_its_line() -> None:
    text = 'host = "h"\nport = 1\n[[steps]]\nsend = "a"\n\n[[steps]]\nsend = "b"\nexpect = "c"\n'
    error = error_of(text)
    assert error.line == 6
    assert "step 1 has two verbs (send, expect)" in error.reason
    assert "no verb" in error_of('host = "h"\nport = 1\n[[steps]]\ntimeout = 1\n').reason


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ("expect_regex = '(unclosed'", "not a valid regular expression"),
        ("expect_hex = '0g'", "not a hex digit"),
        ("send = 'bad \\q escape'", "unknown escape \\q"),
        ("send_hex = '123'", "hex"),
        ("sleep = -1", "0 or more"),
        ("expect_closed = 5", "negative result code"),
        ("expect_closed = false", "negative result code"),
        ("expect = ''", "non-empty string"),
        ("send = 3", "non-empty string"),
        ("starttls = 'yes'", "unknown STARTTLS protocol 'yes' (one of smtp, lmtp, imap"),
        ("starttls = 3", "table of TLS settings"),
        ("starttls = { protocol = 'http' }", "unknown STARTTLS protocol 'http'"),
        ("starttls = { protocol = 'smtp', verify = 'no' }", "verify"),
        ("starttls = { min_version = 'tls1.3', max_version = 'tls1.2' }", "no version is left"),
        ("send = 'a'\ntimeout = 0", "more than 0 seconds"),
    ],
)
def test_a_bad_step_value_is_refused_with_its_line(step: str, reason: str) -> None:
    error = error_of(f'host = "h"\nport = 1\n[[steps]]\n{step}\n')
    assert reason in error.reason
    assert error.line in (3, 4)


def test_when_one_of_several_files_is_bad_none_runs(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('host = "h"\nport = 1\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('host = "h"\n')
    with pytest.raises(ConversationErrors) as caught:
        load_conversations([good, bad, tmp_path / "missing.toml"])
    assert [Path(e.path).name for e in caught.value.errors] == ["bad.toml", "missing.toml"]
    assert "cannot read the file" in caught.value.errors[1].reason
    assert [c.port for c in load_conversations([good])] == [1]


# -- variables --------------------------------------------------------------------------------


def test_a_variable_must_be_given_or_captured_earlier() -> None:
    text = 'host = "h"\nport = 1\n[[steps]]\nsend = "${who}"\n'
    error = error_of(text)
    assert "${who}" in error.reason and error.line == 4
    assert parse_conversation(text, "c.toml", {"who": "me"}).steps[0].value == "${who}"
    captured = (
        'host = "h"\nport = 1\n[[steps]]\nexpect_regex = "user=(?P<who>\\\\w+)"\n'
        '[[steps]]\nsend = "${who}"\n'
    )
    assert len(parse_conversation(captured, "c.toml").steps) == 2
    # A capture later in the file does not count.
    late = (
        'host = "h"\nport = 1\n[[steps]]\nsend = "${who}"\n[[steps]]\nexpect_regex = "(?P<who>x)"\n'
    )
    assert "${who}" in error_of(late).reason


def test_top_level_strings_take_given_variables_only() -> None:
    text = 'host = "${HOST}"\nport = 1\n[tls]\nserver_name = "${HOST}"\n'
    conversation = parse_conversation(text, "c.toml", {"HOST": "example.test"})
    assert conversation.host == "example.test"
    assert conversation.tls is not None and conversation.tls.server_name == "example.test"
    assert "${HOST}" in error_of(text).reason


def test_values_go_in_literally() -> None:
    # In a regex, a value is matched literally; in an escaped send, it is never read as escapes.
    assert substitute("a${v}b", {"v": "1.+"}, regex=True) == "a1\\.\\+b"
    step = Step(0, Verb.SEND, "say ${v}\\r\\n", 1.0)
    assert send_bytes(step, {"v": "back\\slash"}) == b"say back\\slash\r\n"
    hex_step = Step(0, Verb.SEND_HEX, "01 ${b}", 1.0)
    assert send_bytes(hex_step, {"b": "ff"}) == b"\x01\xff"


def test_secure_options_flatten_the_version_range() -> None:
    options = secure_options({"max_version": "tls1.2", "verify": False}, {})
    assert options.tls_version == TLSVersionConstraints(max="tls1.2")
    assert options.verify is False
    with pytest.raises(TypeError):
        secure_options({"verify": "no"}, {})


def test_starttls_names_a_protocol_alone_or_with_tls_settings() -> None:
    text = (
        'host = "h"\nport = 1\n[[steps]]\nstarttls = "smtp"\n'
        '[[steps]]\nstarttls = { protocol = "imap", server_name = "mail.test" }\n'
        "[[steps]]\nstarttls = {}\n"
    )
    steps = parse_conversation(text, "c.toml").steps
    assert [step.value for step in steps] == [
        "smtp",
        {"protocol": "imap", "server_name": "mail.test"},
        {},
    ]
    assert steps[0].label() == "starttls 'smtp'"
