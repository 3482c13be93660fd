"""Persistent-socket entries that cannot be restored (issue 8, item 3), shared by the session
and window tests."""

from __future__ import annotations

from typing import Any

from workbench.core.formatting import format_endpoint
from workbench.core.starttls import STARTTLS_PROTOCOLS

__all__ = ["BAD_ENTRIES", "assert_named", "bad_entries"]

#: The entries issue 8, item 3 tried, each with what its message must say is wrong: a
#: keep-alive that is not a bool and a delay, a delay past the kernel's limit, a host with a
#: NUL, a blank server name; an option and a STARTTLS preset this version does not have.
BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    (
        {"name": "bad keep-alive", "options": {"keep_alive": [True, "x"]}},
        'option keep_alive [true, "x"]: delay must be an int, not str',
    ),
    (
        {"name": "long delay", "options": {"no_delay": [False], "keep_alive": [True, 99999]}},
        "option keep_alive [true, 99999]: delay must be 0..32767 seconds, not 99999",
    ),
    (
        {"name": "nul host", "host": "127.0.0.1\x00.example"},
        "the host must not contain a NUL character",
    ),
    (
        {"name": "blank sni", "secure": {"serverName": " "}, "was_secure": True, "extra": [1, 2]},
        "server_name must name a host, not ' '",
    ),
    (
        {"name": "old option", "options": {"linger": [1]}},
        "no such option 'linger'; one of keep_alive, no_delay",
    ),
    (
        {"name": "old preset", "starttls": "gopher", "was_secure": True},
        f"unknown STARTTLS protocol 'gopher'; one of {', '.join(STARTTLS_PROTOCOLS)}",
    ),
]


def bad_entries(port: int) -> list[dict[str, Any]]:
    """``BAD_ENTRIES`` as the settings file has them, pointing at ``port`` on loopback."""
    return [{"host": "127.0.0.1", "port": port, **entry} for entry, _ in BAD_ENTRIES]


def assert_named(message: str, entry: dict[str, Any], problem: str) -> None:
    """``message`` has the sentence that names the entry (its name, its peer as
    ``format_endpoint`` writes it, a NUL escaped) and says what is wrong with it."""
    peer = format_endpoint(entry["host"], entry["port"]).replace("\x00", "\\x00")
    sentence = (
        f"The persistent socket {entry['name']!r} ({peer}) cannot be restored ({problem}); "
        "it is kept in the settings file as it is."
    )
    assert sentence in message, message
