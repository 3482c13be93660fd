"""The composer's Qt-free half (workbench/core/compose.py): the bytes each mode and line ending
make, the history walk, and the words of the file send's progress."""

from __future__ import annotations

import pytest

from workbench.core import codecs
from workbench.core.compose import (
    MODES,
    PROGRESS_SCALE,
    SendHistory,
    encode_input,
    file_progress_text,
    has_lone_surrogate,
    line_ending_applies,
    mask_surrogates,
    payload_summary,
    progress_permille,
)


@pytest.mark.parametrize(
    ("mode", "ending", "text", "expected"),
    [
        ("Text", "None", "hello", b"hello"),
        ("Text", "LF", "hello", b"hello\n"),
        ("Text", "CR", "héllo", "héllo".encode() + b"\r"),
        ("Text", "CRLF", "GET / HTTP/1.0", b"GET / HTTP/1.0\r\n"),
        ("Text", "None", "a\x00b \u20ac \U0001f600", "a\x00b \u20ac \U0001f600".encode()),
        ("Hex", "None", "68 65 6c 6c 6f", b"hello"),
        ("Hex", "None", "68656C6C6F", b"hello"),
        ("Hex", "None", "0x68,0x65", b"he"),
        ("Hex", "None", "00 ff 0d 0a", b"\x00\xff\r\n"),
        ("Escaped", "None", r"a\r\n\t\0\\\x7fz", b"a\r\n\t\x00\\\x7fz"),
        ("Escaped", "CR", r"\xff\xfe", b"\xff\xfe\r"),
        ("Text", "CRLF", "", b"\r\n"),
        ("Hex", "None", "", b""),
    ],
)
def test_encode_input_makes_exact_bytes(mode: str, ending: str, text: str, expected: bytes) -> None:
    assert mode in MODES
    assert encode_input(text, mode, ending) == expected


@pytest.mark.parametrize(
    ("mode", "text", "position"),
    [
        ("Hex", "68 65 6g 6c", 7),
        ("Hex", "68 656", 5),
        ("Escaped", r"ok\q", 2),
        ("Escaped", "x\\x4", 1),
        ("Text", "a\x00b\udcff", 3),
    ],
)
def test_encode_input_says_where_the_input_is_wrong(mode: str, text: str, position: int) -> None:
    with pytest.raises(codecs.InputError) as caught:
        encode_input(text, mode, "LF")
    assert caught.value.position == position


@pytest.mark.parametrize("ending", ["None", "LF", "CR", "CRLF"])
def test_hex_mode_sends_exactly_the_bytes_typed_without_a_line_ending(ending: str) -> None:
    # Issue 8, item 18: "0x68,0x65 6c6c6F" sent 7 bytes (the line ending was appended).
    assert not line_ending_applies("Hex")
    assert encode_input("0x68,0x65 6c6c6F", "Hex", ending) == b"hello"
    assert encode_input("0d 0a", "Hex", ending) == b"\r\n"  # a line ending is typed as bytes
    assert line_ending_applies("Text") and line_ending_applies("Escaped")
    assert encode_input("hello", "Text", ending) == b"hello" + codecs.LINE_ENDINGS[ending]


def test_encode_input_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        encode_input("x", "Base64", "None")


def test_lone_surrogates_are_found_and_masked() -> None:
    assert not has_lone_surrogate("plain \U0001f600 text")
    assert has_lone_surrogate("a\udcffb") and has_lone_surrogate("\ud800")
    assert mask_surrogates("a\udcffb\ud800") == "a\ufffdb\ufffd"


def test_payload_summary_says_how_long_and_why_on_one_line() -> None:
    big = "68 65\n" * 50_000
    summary = payload_summary(big)
    head, preview = summary.split("\n")
    assert head == "[300,000 characters pasted — too large to edit here; Send sends them all]"
    assert preview == ("68 65 " * 50_000)[:200] + "…"

    odd = payload_summary("x\udcff")
    assert "lone surrogate" in odd and "\udcff" not in odd and "\ufffd" in odd


def test_file_progress_text_goes_through_the_one_size_formatter() -> None:
    assert file_progress_text(0, 12) == "0 bytes / 12 bytes"
    assert file_progress_text(256 * 1024, 1023 * 2**30 + 2**29) == "256.0 KiB / 1023.5 GiB"


@pytest.mark.parametrize(
    ("sent", "size", "permille"),
    [
        (0, 0, PROGRESS_SCALE),
        (0, 10, 0),
        (5, 10, 500),
        (10, 10, 1000),
        (11, 10, 1000),
        (1, 3 * 2**40, 0),
    ],
)
def test_progress_permille(sent: int, size: int, permille: int) -> None:
    assert progress_permille(sent, size) == permille


def test_history_walks_back_and_forward_and_keeps_the_draft() -> None:
    history = SendHistory()
    assert history.back(("draft", "Text")) == (False, None)  # nothing sent: the key moves
    assert history.forward() == (False, None)
    for entry in (("first", "Text"), ("second", "Text"), ("74 68", "Hex")):
        history.remember(*entry)
    history.remember("74 68", "Hex")  # a repeat of the last is not kept twice
    assert history.entries() == [("first", "Text"), ("second", "Text"), ("74 68", "Hex")]

    assert history.back(("draft", "Escaped")) == (True, ("74 68", "Hex"))
    assert history.back(("ignored", "Text")) == (True, ("second", "Text"))
    assert history.back(("ignored", "Text")) == (True, ("first", "Text"))
    assert history.back(("ignored", "Text")) == (True, None)  # stays at the oldest
    assert history.at == 0
    assert history.forward() == (True, ("second", "Text"))
    assert history.forward() == (True, ("74 68", "Hex"))
    assert history.forward() == (True, ("draft", "Escaped"))  # what was being typed
    assert history.at is None
    assert history.forward() == (False, None)

    history.back(("draft", "Text"))
    history.remember("third", "Text")  # sending goes back to a fresh draft
    assert history.at is None and len(history) == 4


def test_history_keeps_the_newest_entries_up_to_its_limit() -> None:
    history = SendHistory(limit=3)
    for n in range(5):
        history.remember(str(n), "Text")
    assert history.entries() == [("2", "Text"), ("3", "Text"), ("4", "Text")]
