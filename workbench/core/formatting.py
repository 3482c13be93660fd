"""The one way each kind of value is written for people: sizes and endpoints.

Every label, tooltip, status message and log line that shows a byte count or a host and port
goes through these, so the same value always reads the same everywhere.
"""

from __future__ import annotations

__all__ = ["describe_result", "format_endpoint", "format_size", "result_name"]

_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def format_size(n: int) -> str:
    """A byte count: ``0`` → ``"0 bytes"``, ``1`` → ``"1 byte"``, ``1536`` → ``"1.5 KiB"``,
    ``1 << 30`` → ``"1.0 GiB"``.

    Binary units with one decimal, so that a growing counter does not change width at every
    exact multiple; below 1 KiB the exact count, because a few bytes are counted, not measured.
    """
    if n < 0:
        raise ValueError(f"a size is never negative, not {n}")
    for unit, scale in _UNITS:
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return "1 byte" if n == 1 else f"{n} bytes"


def format_endpoint(host: str | None, port: int | None) -> str:
    """``("127.0.0.1", 7)`` → ``"127.0.0.1:7"``; an IPv6 address gets brackets,
    ``("::1", 7)`` → ``"[::1]:7"`` (RFC 3986's form, which tools paste back correctly).
    No host: ``""``; no port: the host alone."""
    if not host:
        return ""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return shown if port is None else f"{shown}:{port}"


def result_name(code: int) -> str:
    """``-102`` → ``"CONNECTION_REFUSED"``; ``0`` → ``"OK"``."""
    from workbench.core.errors import net_error_text

    text = net_error_text(code)
    return "OK" if text == "net::OK" else text.removeprefix("net::ERR_")


def describe_result(code: int) -> str:
    """What a result label says: ``"OK"``, or ``"-102 CONNECTION_REFUSED: nothing is listening
    on that port"``."""
    from workbench.core.errors import net_error_description

    if code == 0:
        return "OK"
    return f"{code} {result_name(code)}: {net_error_description(code)}"
