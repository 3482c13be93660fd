"""Field checks for the option panels: each returns ``None`` when the text is acceptable, or
one short sentence saying what is wrong, shown beside the field as the user types.

Pure Python (no Qt): the panels call these on every keystroke, so each is cheap and none of
them can block — a file check looks at ``stat`` first and only opens regular files, so a path
to a FIFO or a device never hangs the window.

"Bad input: every field validates as the user types (port range, empty address, unreadable CA
file …); errors are shown beside the field; nothing invalid reaches the core." (issue 3)
"""

from __future__ import annotations

import ipaddress
import os
import stat

from workbench.core.types import check_server_name

__all__ = [
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

#: RFC 1035: a host name is at most 253 characters in its dotted text form.
MAX_HOST_LENGTH = 253


def _has_bad_chars(text: str) -> bool:
    """Whitespace or control characters: no host name or address contains them, and a NUL
    would make ``getaddrinfo`` raise instead of returning a result code."""
    return any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def normalize_address(text: str) -> str:
    """What the core is given: surrounding blanks dropped, and ``[::1]`` (the URL form of an
    IPv6 literal) unwrapped to ``::1``, which is what ``getaddrinfo`` understands."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return text
        return inner
    return text


def address_error(text: str) -> str | None:
    """A host name, an IPv4 literal or an IPv6 literal (optionally in brackets)."""
    address = normalize_address(text)
    if not address:
        return "Enter a host name or an IP address."
    if _has_bad_chars(address):
        return "An address cannot contain spaces or control characters."
    if len(address) > MAX_HOST_LENGTH:
        return f"Too long for a host name ({len(address)} characters, at most {MAX_HOST_LENGTH})."
    if ":" in address:
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            host, _, port = address.rpartition(":")
            if port.isascii() and port.isdigit() and ":" not in host:
                # "127.0.0.1:8080" or "example.com:80": one colon and a number after it.
                return "Give the port in the Port field, not after the address."
            return "Not a valid IPv6 address (give the port in the Port field)."
        return None
    if any(not label for label in address.rstrip(".").split(".")):
        return "A host name cannot have an empty label (two dots in a row)."
    return None


def listen_address_error(text: str) -> str | None:
    """An IPv4 or IPv6 literal (optionally in brackets): a server listens on an address of
    this machine, never a name (``listen`` refuses one, contract L3)."""
    address = normalize_address(text)
    if not address:
        return "Enter an IP address: 127.0.0.1 (this machine only), 0.0.0.0 or :: (all)."
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return "A server listens on an IP address of this machine, not a host name."
    return None


def parse_port(text: str) -> int | None:
    """The port as an int when the text is a valid TCP port (1-65535), else ``None``."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        return None
    port = int(text)
    return port if 1 <= port <= 65535 else None


def port_error(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return "Enter a port (1-65535)."
    if not stripped.isascii() or not stripped.isdigit():
        return "A port is a whole number from 1 to 65535."
    if parse_port(stripped) is None:
        return "The port must be between 1 and 65535."
    return None


def server_name_error(text: str) -> str | None:
    """The optional TLS server-name override: empty means "the host given to connect"."""
    name = text.strip()
    if not name:
        return None
    if _has_bad_chars(name):
        return "A server name cannot contain spaces or control characters."
    if len(name) > MAX_HOST_LENGTH:
        return f"Too long for a host name ({len(name)} characters, at most {MAX_HOST_LENGTH})."
    try:
        check_server_name(name)  # the core's own rule: what it would refuse, the form does
    except ValueError as exc:
        return f"Not a host name: {str(exc).removeprefix('server_name ')}."
    return None


def readable_file_error(path: str) -> str | None:
    """An optional file the core will read (CA bundle, certificate, key): empty is fine;
    otherwise it must be an existing, readable regular file."""
    if not path.strip():
        return None
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "No such file."
    except NotADirectoryError:
        return "No such file (a part of the path is not a folder)."
    except PermissionError:
        return "Cannot read this file: permission denied."
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, ELOOP, an embedded NUL …
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"Not a usable path: {reason}."
    if stat.S_ISDIR(info.st_mode):
        return "This is a folder, not a file."
    if not stat.S_ISREG(info.st_mode):
        return "Not a regular file."
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return f"Cannot read this file: {exc.strerror or exc}."
    return None


def writable_file_error(path: str) -> str | None:
    """An optional file the core will append to (a TLS key log): empty is fine; otherwise an
    existing regular file we may write, or a new name in a folder we may write in. Nothing
    is created here: the core creates the file (mode 0600) when it first needs it."""
    text = path.strip()
    if not text:
        return None
    if "\x00" in text:
        return "Not a usable path: it contains a NUL character."
    if os.path.isdir(text):
        return "This is a folder, not a file."
    if os.path.exists(text):
        if not os.path.isfile(text):
            return "Not a regular file."
        return None if os.access(text, os.W_OK) else "Cannot write this file: permission denied."
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        return "No such folder."
    return None if os.access(folder, os.W_OK) else "Cannot create a file in this folder."
