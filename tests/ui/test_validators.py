"""workbench/ui/validators.py: what each field check accepts, what it refuses, and the sentence
the user reads beside the field.

The operating system's reasons ("File name too long", "Input/output error") are glibc's: the
program is built and tested on Linux (README).

The panels' tests (tests/ui/test_panels.py) drive these checks through the widgets; here each
function is called directly, one input at a time, so a changed message or a newly accepted
input shows up as exactly one failing case.
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.ui import validators
from workbench.ui.validators import (
    MAX_HOST_LENGTH,
    address_error,
    normalize_address,
    parse_port,
    port_error,
    readable_file_error,
    server_name_error,
)

ROOT = Path(__file__).resolve().parents[2]

EMPTY_ADDRESS = "Enter a host name or an IP address."
BAD_CHARS_ADDRESS = "An address cannot contain spaces or control characters."
BAD_IPV6 = "Not a valid IPv6 address (give the port in the Port field)."
PORT_AFTER_ADDRESS = "Give the port in the Port field, not after the address."
EMPTY_LABEL = "A host name cannot have an empty label (two dots in a row)."
EMPTY_PORT = "Enter a port (1-65535)."
NOT_A_NUMBER = "A port is a whole number from 1 to 65535."
OUT_OF_RANGE = "The port must be between 1 and 65535."
BAD_CHARS_SERVER_NAME = "A server name cannot contain spaces or control characters."


def too_long(length: int) -> str:
    return f"Too long for a host name ({length} characters, at most 253)."


def test_the_public_names_are_the_ones_the_panels_use() -> None:
    assert sorted(validators.__all__) == sorted(
        [
            "MAX_HOST_LENGTH",
            "address_error",
            "listen_address_error",
            "normalize_address",
            "parse_port",
            "port_error",
            "readable_file_error",
            "server_name_error",
            "writable_file_error",
        ]
    )
    # RFC 1035: 253 characters in the dotted text form.
    assert MAX_HOST_LENGTH == 253


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("127.0.0.1", None),
        ("0.0.0.0", None),
        ("::", None),
        ("[::1]", None),
        ("", "Enter an IP address: 127.0.0.1 (this machine only), 0.0.0.0 or :: (all)."),
        ("localhost", "A server listens on an IP address of this machine, not a host name."),
        ("1.2.3", "A server listens on an IP address of this machine, not a host name."),
    ],
)
def test_a_listen_address_is_an_ip_literal(text: str, error: str | None) -> None:
    assert validators.listen_address_error(text) == error


# ------------------------------------------------------------------------- normalize_address


@pytest.mark.parametrize(
    ("text", "given_to_the_core"),
    [
        ("example.com", "example.com"),
        ("  example.com\t", "example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),  # the URL form of an IPv6 literal, which getaddrinfo refuses
        (" [2001:db8::1] ", "2001:db8::1"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),  # a scoped literal keeps its zone
        ("[example.com]", "[example.com]"),  # brackets around a name are not unwrapped
        ("[127.0.0.1]", "[127.0.0.1]"),  # nor around an IPv4 literal
        ("[]", "[]"),
        ("[::1", "[::1"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_address(text: str, given_to_the_core: str) -> None:
    assert normalize_address(text) == given_to_the_core


# ------------------------------------------------------------------------------ address_error


@pytest.mark.parametrize(
    "text",
    [
        "localhost",
        "example.com",
        "example.com.",  # the fully qualified form, root label last
        "bücher.example",  # an IDN is encoded by the resolver, not refused here
        "127.0.0.1",
        "::1",
        "[::1]",
        "  [::1]  ",
        "2001:db8::ff00:42:8329",
        "::ffff:192.0.2.1",
        "fe80::1%eth0",
        "a" * MAX_HOST_LENGTH,
        "  " + "a" * MAX_HOST_LENGTH + "  ",  # the blanks are dropped before measuring
    ],
)
def test_address_accepted(text: str) -> None:
    assert address_error(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", EMPTY_ADDRESS),
        ("   ", EMPTY_ADDRESS),
        ("\t\n", EMPTY_ADDRESS),
        ("bad host", BAD_CHARS_ADDRESS),
        ("bad\thost", BAD_CHARS_ADDRESS),
        ("bad\x00host", BAD_CHARS_ADDRESS),  # a NUL would make getaddrinfo raise
        ("bad\x1bhost", BAD_CHARS_ADDRESS),
        ("bad\x7fhost", BAD_CHARS_ADDRESS),
        ("bad\u00a0host", BAD_CHARS_ADDRESS),  # a no-break space pasted from a web page
        ("bad\u2028host", BAD_CHARS_ADDRESS),
        ("a" * (MAX_HOST_LENGTH + 1), too_long(MAX_HOST_LENGTH + 1)),
        ("a" * 10_000, too_long(10_000)),
        ("::1::2", BAD_IPV6),
        ("[::1", BAD_IPV6),
        ("::g", BAD_IPV6),
        ("127.0.0.1:80", PORT_AFTER_ADDRESS),  # host:port typed into the address field
        ("localhost:7", PORT_AFTER_ADDRESS),
        ("::1:x", BAD_IPV6),
        ("a..b", EMPTY_LABEL),
        (".example.com", EMPTY_LABEL),
        ("example..com.", EMPTY_LABEL),
        (".", EMPTY_LABEL),
    ],
)
def test_address_refused_with_its_message(text: str, message: str) -> None:
    assert address_error(text) == message


def test_address_spaces_are_named_before_the_length() -> None:
    # One sentence per field: the first problem found, checked in a fixed order.
    assert address_error("a b" * 200) == BAD_CHARS_ADDRESS


# ------------------------------------------------------------------------- parse_port / port_error


@pytest.mark.parametrize(
    ("text", "port"),
    [("1", 1), ("7", 7), ("65535", 65535), (" 80 ", 80), ("00080", 80), ("443\n", 443)],
)
def test_port_accepted(text: str, port: int) -> None:
    assert parse_port(text) == port
    assert port_error(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", EMPTY_PORT),
        ("   ", EMPTY_PORT),
        ("8o", NOT_A_NUMBER),
        ("-1", NOT_A_NUMBER),
        ("+80", NOT_A_NUMBER),
        ("1.5", NOT_A_NUMBER),
        ("1e3", NOT_A_NUMBER),
        ("0x50", NOT_A_NUMBER),
        ("8 0", NOT_A_NUMBER),
        ("\uff18\uff10", NOT_A_NUMBER),  # full-width "80": str.isdigit() and int() take it
        ("\u0668\u0660", NOT_A_NUMBER),  # Arabic-Indic "80"
        ("\u00b2", NOT_A_NUMBER),  # a superscript 2: isdigit(), but not int()
        ("0", OUT_OF_RANGE),
        ("00000", OUT_OF_RANGE),
        ("65536", OUT_OF_RANGE),
        ("70000", OUT_OF_RANGE),
        ("99999", OUT_OF_RANGE),
        ("123456", OUT_OF_RANGE),
        ("9" * 10_000, OUT_OF_RANGE),  # refused by its length, never handed to int()
    ],
)
def test_port_refused_with_its_message(text: str, message: str) -> None:
    assert parse_port(text) is None
    assert port_error(text) == message


# -------------------------------------------------------------------------- server_name_error


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty means "the host given to connect"
        "   ",
        "example.com",
        "  example.com  ",
        "localhost",
        "127.0.0.1",
        ".".join(["a" * 63] * 3 + ["a" * 61]),  # MAX_HOST_LENGTH, in labels of at most 63
    ],
)
def test_server_name_accepted(text: str) -> None:
    assert server_name_error(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("two words", BAD_CHARS_SERVER_NAME),
        ("tab\there", BAD_CHARS_SERVER_NAME),
        ("nul\x00", BAD_CHARS_SERVER_NAME),
        ("del\x7f", BAD_CHARS_SERVER_NAME),
        ("a" * (MAX_HOST_LENGTH + 1), too_long(MAX_HOST_LENGTH + 1)),
        ("  " + "a" * 300 + "  ", too_long(300)),
    ],
)
def test_server_name_refused_with_its_message(text: str, message: str) -> None:
    assert server_name_error(text) == message


# ------------------------------------------------------------------------ readable_file_error


def test_no_file_is_fine(tmp_path: Path) -> None:
    assert readable_file_error("") is None
    assert readable_file_error("   ") is None


def test_a_readable_regular_file_is_accepted(tmp_path: Path) -> None:
    full = tmp_path / "ca.pem"
    full.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    link = tmp_path / "link.pem"
    link.symlink_to(full)
    assert readable_file_error(str(full)) is None
    assert readable_file_error(str(empty)) is None  # empty but readable: the core says more
    assert readable_file_error(str(link)) is None


def test_a_missing_file(tmp_path: Path) -> None:
    assert readable_file_error(str(tmp_path / "missing.pem")) == "No such file."
    assert readable_file_error(str(tmp_path / "no" / "ca.pem")) == "No such file."
    dangling = tmp_path / "dangling.pem"
    dangling.symlink_to(tmp_path / "gone.pem")
    assert readable_file_error(str(dangling)) == "No such file."


def test_a_file_used_as_a_folder(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"x")
    assert readable_file_error(str(tmp_path / "ca.pem" / "key.pem")) == (
        "No such file (a part of the path is not a folder)."
    )


def test_a_folder(tmp_path: Path) -> None:
    assert readable_file_error(str(tmp_path)) == "This is a folder, not a file."


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    # Opening a FIFO nobody writes to blocks forever: a hang here is the failure.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert readable_file_error(str(fifo)) == "Not a regular file."


def test_a_device_or_a_socket_is_refused(tmp_path: Path) -> None:
    assert readable_file_error(os.devnull) == "Not a regular file."
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert readable_file_error(str(path)) == "Not a regular file."


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda tmp: "a\x00b", "Not a usable path: embedded null byte."),
        (lambda tmp: str(tmp / ("x" * 5000)), "Not a usable path: File name too long."),
        (lambda tmp: _symlink_loop(tmp), "Not a usable path: Too many levels of symbolic links."),
    ],
    ids=["nul", "name-too-long", "symlink-loop"],
)
def test_an_unusable_path_says_why(
    tmp_path: Path, make_path: Callable[[Path], str], message: str
) -> None:
    assert readable_file_error(make_path(tmp_path)) == message


def _symlink_loop(tmp: Path) -> str:
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return str(tmp / "a")


def _check_as_an_ordinary_user(path: Path) -> str | None:
    """``readable_file_error(path)`` in a child process that file permissions apply to.

    root reads through any mode bits, so as root the child runs without the two capabilities
    that bypass them (``setpriv`` from util-linux); as anyone else it runs as is.
    """
    code = (
        "import sys\n"
        "from workbench.ui.validators import readable_file_error\n"
        "print(repr(readable_file_error(sys.argv[1])))\n"
    )
    command = [sys.executable, "-c", code, str(path)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "as root, this test needs util-linux's setpriv to drop DAC powers"
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)
    result: str | None = ast.literal_eval(done.stdout)  # the repr printed above
    return result


def test_an_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "key.pem"
    secret.write_bytes(b"secret")
    secret.chmod(0)
    try:
        assert _check_as_an_ordinary_user(secret) == "Cannot read this file: Permission denied."
    finally:
        secret.chmod(0o600)


def test_a_file_in_a_folder_that_cannot_be_searched(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "ca.pem").write_bytes(b"x")
    locked.chmod(0o600)  # readable listing, but no search (x) permission
    try:
        assert _check_as_an_ordinary_user(locked / "ca.pem") == (
            "Cannot read this file: permission denied."
        )
    finally:
        locked.chmod(0o700)


def test_a_regular_file_that_fails_to_read() -> None:
    # /proc/self/mem is a regular file; reading its first byte (address 0) fails with EIO.
    # This is the read check after stat, the one that catches what stat cannot see.
    assert readable_file_error("/proc/self/mem") == "Cannot read this file: Input/output error."


@pytest.mark.parametrize("text", [".example.test", "example..test", "x" * 64 + ".test"])
def test_server_name_follows_the_cores_rule(text: str) -> None:
    # What SecureOptions would refuse, the form refuses first, with the core's reason.
    message = server_name_error(text)
    assert message is not None and message.startswith("Not a host name:")


def test_a_key_log_path_may_be_new_or_writable_but_not_a_folder(tmp_path: Path) -> None:
    assert validators.writable_file_error("") is None
    assert validators.writable_file_error(str(tmp_path / "new.keys")) is None
    existing = tmp_path / "old.keys"
    existing.write_text("")
    assert validators.writable_file_error(str(existing)) is None
    assert validators.writable_file_error(str(tmp_path)) == "This is a folder, not a file."
    missing = tmp_path / "nowhere" / "k.keys"
    assert validators.writable_file_error(str(missing)) == "No such folder."
    assert validators.writable_file_error("a\x00b") == (
        "Not a usable path: it contains a NUL character."
    )
