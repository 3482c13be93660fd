"""How a saved entry of the settings file is read field by field: one table of the JSON types
each field takes, and the first value of a wrong type named (listening sockets and UDP
sockets read their entries this way; ``settings_servers``, ``settings_udp``)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Fields", "first_wrong", "read_fields"]

#: A field's name → the JSON types it takes (``type(None)``: may be null) and how a message
#: says so.
Fields = dict[str, tuple[tuple[type, ...], str]]


def read_fields(entry: object, data: dict[str, Any], fields: Fields) -> str | None:
    """Set each field of ``entry`` that ``data`` has with a value of a type it takes (a list
    copied); a field whose value is of another type keeps its default. Returns what is wrong
    with the first such value (``"port must be a whole number or null, not "80""``), or None."""
    wrong: str | None = None
    for name, (types, wanted) in fields.items():
        if name not in data:
            continue
        value = data[name]
        # JSON's true is an int to Python: a bool counts only where bool is named.
        if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
            setattr(entry, name, list(value) if isinstance(value, list) else value)
        elif wrong is None:
            wrong = first_wrong(name, wanted, value)
    return wrong


def first_wrong(name: str, wanted: str, value: object) -> str:
    shown = json.dumps(value, ensure_ascii=False, default=repr)
    return f"{name} must be {wanted}, not {shown}"
