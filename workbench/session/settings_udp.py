"""Persistent UDP sockets as the settings file keeps them (its ``udp`` list).

One entry per UDP socket whose properties say ``persistent``::

    {"name": "syslog", "buffer_size": 8192, "address": "127.0.0.1", "port": 5514,
     "paused": false, "groups": ["239.1.2.3"], "ttl": 4, "loopback": true, "broadcast": null}

``address`` and ``port`` are where the socket was bound at save (a bind on port 0 comes back on
the port it got, so that its peers keep working); a socket not bound at save is saved with the
address and port of the last bind it asked for, or none. ``groups`` are the multicast groups it
had joined, in the order joined; ``ttl``, ``loopback`` and ``broadcast`` the last values set
(null: never set, the operating system's default).

An entry is checked as strictly as the core would check its calls: a value of the wrong type,
a port out of range, a TTL outside 0..255, a group that is not a multicast IP literal make the
whole entry bad. A bad entry is not restored at all, never in part: it is named in a message and
written back to the file untouched.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import Any

from workbench.core.formatting import describe_result, result_name
from workbench.core.rules_store import LoadProblem
from workbench.core.types import UdpSocketProperties
from workbench.session.settings_fields import Fields, read_fields
from workbench.session.settings_servers import entry_label

__all__ = ["PersistedUdp"]

#: The entry's fields: the JSON types each takes (``None``: may be null) and how a message
#: says so.
_FIELDS: Fields = {
    "name": ((str, type(None)), "text or null"),
    "buffer_size": ((int, type(None)), "a whole number or null"),
    "address": ((str, type(None)), "text or null"),
    "port": ((int, type(None)), "a whole number or null"),
    "paused": ((bool,), "true or false"),
    "groups": ((list,), "a list of multicast addresses"),
    "ttl": ((int, type(None)), "a whole number or null"),
    "loopback": ((bool, type(None)), "true, false or null"),
    "broadcast": ((bool, type(None)), "true, false or null"),
    "rules": ((dict, type(None)), "an object or null"),
}


@dataclasses.dataclass
class PersistedUdp:
    """One persistent UDP socket as the settings file keeps it (see the module)."""

    name: str | None = None
    buffer_size: int | None = None
    #: where it is bound (as ``bind()`` takes it) and on which port; both ``None``: never bound.
    address: str | None = None
    port: int | None = None
    paused: bool = False
    groups: list[str] = dataclasses.field(default_factory=list)
    ttl: int | None = None
    loopback: bool | None = None
    broadcast: bool | None = None
    #: its response rules, ``ruleset_to_dict``'s form, written back as they were read.
    rules: dict[str, Any] | None = None
    #: the JSON object the entry was read from: written back untouched when the entry cannot
    #: be restored.
    raw: dict[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)
    #: the first value of ``raw`` of the wrong type (its field keeps the default), if any.
    wrong: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def label(self) -> str:
        return entry_label(self.name, self.address, self.port)

    def problem(self) -> str | None:
        """Why this entry cannot be restored, or ``None``: the checks of ``create()``,
        ``bind()``, ``joinGroup()`` and ``setMulticastTimeToLive()``, run before anything is
        created."""
        if self.wrong is not None:
            return self.wrong
        try:
            UdpSocketProperties(name=self.name, persistent=True, buffer_size=self.buffer_size)
        except (TypeError, ValueError) as exc:
            return str(exc)
        if (self.address is None) != (self.port is None):
            return "an address and a port go together: one of them is missing"
        return self._bind_problem() or self._multicast_problem()

    def _bind_problem(self) -> str | None:
        if self.address is not None and "\x00" in self.address:
            return "the address must not contain a NUL character"
        if self.port is not None and not 0 <= self.port <= 65535:
            return f"port must be in 0..65535, not {self.port}"
        if self.buffer_size is not None and self.buffer_size < 0:
            return f"buffer_size must not be negative, not {self.buffer_size}"
        return None

    def _multicast_problem(self) -> str | None:
        if self.ttl is not None and not 0 <= self.ttl <= 255:
            return f"ttl must be in 0..255, not {self.ttl}"
        for group in self.groups:
            shown = json.dumps(group, ensure_ascii=False, default=repr)
            try:
                # D9: 'Domain names are not supported.': a group is an IP literal.
                if isinstance(group, str) and ipaddress.ip_address(group).is_multicast:
                    continue
            except ValueError:
                pass
            return f"a group must be a multicast IP address, not {shown}"
        if self.groups and self.address is None:
            return "groups are joined on a bound socket: the entry has no address"
        return None

    def skip_message(self, problem: str) -> str:
        """What the user is told about an entry that is not restored."""
        return (
            f"The persistent UDP socket {self.label()} cannot be restored ({problem}); "
            "it is kept in the settings file as it is."
        )

    def rules_left_out_message(self, problems: tuple[LoadProblem, ...]) -> str:
        """What the user is told about a socket restored without the rules that do not load
        (or that UDP cannot carry out)."""
        named = "; ".join(str(problem.error) for problem in problems)
        return (
            f"The persistent UDP socket {self.label()} is restored without the rules that do "
            f"not load ({named}); they are kept in the settings file as they are."
        )

    def not_bound_message(self, code: int, why: str | None) -> str:
        """What the user is told about a socket restored, but refused its address and port (in
        use by another program, an address this machine no longer has): it is not bound, and
        never bound to another port behind the user's back."""
        return (
            f"The persistent UDP socket {self.label()} is restored but not bound "
            f"({_result(code, why)}); bind again from its Bind panel."
        )

    def not_set_message(self, what: str, code: int, why: str | None) -> str:
        """What the user is told about a bound socket whose group or broadcast setting the
        core refused (a sandbox without multicast): the entry keeps it."""
        return (
            f"The persistent UDP socket {self.label()} is restored without {what} "
            f"({_result(code, why)}); it is kept in the settings file as it is."
        )

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _FIELDS}
        data["groups"] = list(self.groups)
        return data

    @classmethod
    def from_json(cls, data: Any) -> PersistedUdp | None:
        """The entry ``data`` holds (``None``: not a JSON object, no entry at all). A value of
        the wrong type is not dropped silently: it makes the entry bad (``problem``)."""
        if not isinstance(data, dict):
            return None
        entry = cls(raw=data)
        entry.wrong = read_fields(entry, data, _FIELDS)
        return entry


def _result(code: int, why: str | None) -> str:
    """``-147 ADDRESS_IN_USE: Address already in use``: the code and its name, with the
    operating system's reason when it gave one (the code's description otherwise)."""
    return f"{code} {result_name(code)}: {why}" if why else describe_result(code)
