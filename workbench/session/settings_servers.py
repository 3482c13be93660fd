"""Persistent listening sockets as the settings file keeps them (its ``servers`` list).

One entry per server whose properties say ``persistent``::

    {"name": "redis", "address": "127.0.0.1", "port": 6379, "backlog": null,
     "read_at_once": true, "paused": false, "rules": {"version": 1, "framing": …, "rules": […]},
     "tls": {"test_ca_names": ["localhost", "127.0.0.1", "::1"], "ca_file": null}}

``port`` is the port the server was listening on at save, not the one it asked for: a server
that listened on port 0 comes back on the port it got, so that its clients keep working.
``rules`` is ``workbench.core.rules_store``'s saved form, as the server's intent holds it.
``tls`` is TLS on accept (``ServerTls``): ``cert_file`` and ``key_file``, or ``test_ca_names``
(the built-in test CA issues the certificate again at restore, as it did at listen), and
``ca_file`` when a client certificate is required, and ``on_accept``: false when the
certificate is for the server's "Start TLS" rules instead (absent: true, TLS on accept, as
files written before it say); null or absent ``tls``: plaintext. The paths are
kept as given: a file missing at restore fails each handshake, on its connection's row.

An entry is checked as strictly as the core would check its calls: a value of the wrong
type, a port out of range, an address that is not an IP literal, rules whose file or framing
cannot be read make the whole entry bad. A bad entry is not restored at all, never in part:
it is named in a message and written back to the file untouched. A rule of a good entry that
does not load is left out of the restored server, and named (``ServerRules.load_rules``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from workbench.core.formatting import describe_result, format_endpoint
from workbench.core.rules_store import LoadProblem, ruleset_from_dict
from workbench.core.types import ServerSocketProperties
from workbench.session.record import ServerTls
from workbench.session.settings_fields import Fields, read_fields

__all__ = ["PersistedServer", "entry_label", "server_tls_from_json", "server_tls_to_json"]

_TLS_FIELDS = ("cert_file", "key_file", "ca_file", "test_ca_names", "on_accept")


def server_tls_to_json(tls: ServerTls | None) -> dict[str, Any] | None:
    """``tls`` as the settings file keeps it (see the module)."""
    if tls is None:
        return None
    saved: dict[str, Any]
    if tls.test_ca_names:
        saved = {"test_ca_names": list(tls.test_ca_names), "ca_file": tls.ca_file}
    else:
        saved = {"cert_file": tls.cert_file, "key_file": tls.key_file, "ca_file": tls.ca_file}
    if not tls.on_accept:  # written only when not the default: older files stay as they were
        saved["on_accept"] = False
    return saved


def server_tls_from_json(data: dict[str, Any]) -> ServerTls:
    """The ``ServerTls`` a saved ``tls`` object says; ``ValueError`` naming what is wrong."""
    unknown = sorted(set(data) - set(_TLS_FIELDS))
    if unknown:
        raise ValueError(f"unknown TLS setting {unknown[0]!r}")
    names = data.get("test_ca_names") or []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("test_ca_names must be a list of names")
    try:
        return ServerTls(
            cert_file=data.get("cert_file"),
            key_file=data.get("key_file"),
            ca_file=data.get("ca_file"),
            test_ca_names=tuple(names),
            on_accept=data.get("on_accept", True),
        )
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def entry_label(name: str | None, host: str | None, port: int | None) -> str:
    """How messages name a saved entry: its name and its endpoint (``'web'
    (example.test:443)``), or whichever of them it has. A character that cannot be shown (a
    NUL) is escaped."""
    endpoint = format_endpoint(host, port)
    endpoint = "".join(c if c.isprintable() else repr(c)[1:-1] for c in endpoint)
    shown = repr(name) if name else ""  # an empty name is no name: not "''"
    if shown and endpoint:
        return f"{shown} ({endpoint})"
    return shown or endpoint or "(unnamed)"


#: The entry's fields: the JSON types each takes (``None``: may be null) and how a message
#: says so.
_FIELDS: Fields = {
    "name": ((str, type(None)), "text or null"),
    "address": ((str, type(None)), "text or null"),
    "port": ((int, type(None)), "a whole number or null"),
    "backlog": ((int, type(None)), "a whole number or null"),
    "read_at_once": ((bool,), "true or false"),
    "paused": ((bool,), "true or false"),
    "rules": ((dict, type(None)), "an object or null"),
    "tls": ((dict, type(None)), "an object or null"),
}


@dataclasses.dataclass
class PersistedServer:
    """One persistent listening socket as the settings file keeps it (see the module)."""

    name: str | None = None
    #: where it listens (an IP literal) and on which port; both ``None``: it never listened.
    address: str | None = None
    port: int | None = None
    backlog: int | None = None
    read_at_once: bool = True
    paused: bool = False
    #: the response rules, ``ruleset_to_dict``'s form, written back as they were read.
    rules: dict[str, Any] | None = None
    #: TLS on accept, ``server_tls_to_json``'s form (None: plaintext).
    tls: dict[str, Any] | None = None
    #: the JSON object the entry was read from: written back untouched when the entry cannot
    #: be restored.
    raw: dict[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)
    #: the first value of ``raw`` of the wrong type (its field keeps the default), if any.
    wrong: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def label(self) -> str:
        return entry_label(self.name, self.address, self.port)

    def problem(self) -> str | None:
        """Why this entry cannot be restored, or ``None``: the checks of ``create()`` and
        ``listen()`` and of the rules file, run before anything is created."""
        if self.wrong is not None:
            return self.wrong
        try:
            ServerSocketProperties(name=self.name, persistent=True)
        except (TypeError, ValueError) as exc:
            return str(exc)
        if (self.address is None) != (self.port is None):
            return "an address and a port go together: one of them is missing"
        return self._listen_problem() or self._rules_problem() or self._tls_problem()

    def _listen_problem(self) -> str | None:
        if self.address is not None:
            if "\x00" in self.address:
                return "the address must not contain a NUL character"
            try:
                ipaddress.ip_address(self.address)
            except ValueError:
                # L3: 'the address must be an IP literal'; a name is not resolved.
                return f"the address must be an IP address, not {self.address!r}"
        if self.port is not None and not 0 <= self.port <= 65535:
            return f"port must be in 0..65535, not {self.port}"
        if self.backlog is not None and self.backlog < 0:
            return f"backlog must not be negative, not {self.backlog}"
        return None

    def _rules_problem(self) -> str | None:
        """The rules file or its framing cannot be read: restored with none of its rules (or
        other framing), the server would answer otherwise than it was saved to."""
        if self.rules is None:
            return None
        for problem in ruleset_from_dict(self.rules).problems:
            if problem.index is None:
                return f"its rules cannot be read: {problem.error}"
        return None

    def _tls_problem(self) -> str | None:
        """TLS settings that say nothing usable: restored plaintext, the server would answer
        TLS clients with what they cannot read."""
        if self.tls is None:
            return None
        try:
            server_tls_from_json(self.tls)
        except ValueError as exc:
            return f"its TLS settings cannot be read: {exc}"
        return None

    def skip_message(self, problem: str) -> str:
        """What the user is told about an entry that is not restored."""
        return (
            f"The persistent server {self.label()} cannot be restored ({problem}); "
            "it is kept in the settings file as it is."
        )

    def rules_left_out_message(self, problems: tuple[LoadProblem, ...]) -> str:
        """What the user is told about a server restored without the rules that do not load."""
        named = "; ".join(str(problem.error) for problem in problems)
        return (
            f"The persistent server {self.label()} is restored without the rules that do not "
            f"load ({named}); they are kept in the settings file as they are."
        )

    def not_listening_message(self, code: int) -> str:
        """What the user is told about a server restored, but refused its address and port (in
        use by another program, an address this machine no longer has)."""
        return (
            f"The persistent server {self.label()} is restored but not listening "
            f"({describe_result(code)}); listen again from its Listen panel."
        )

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_json(cls, data: Any) -> PersistedServer | None:
        """The entry ``data`` holds (``None``: not a JSON object, no entry at all). A value of
        the wrong type is not dropped silently: it makes the entry bad (``problem``)."""
        if not isinstance(data, dict):
            return None
        entry = cls(raw=data)
        entry.wrong = read_fields(entry, data, _FIELDS)
        return entry
