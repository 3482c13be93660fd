"""What a restore at start did, for every kind of persistent entry (TCP sockets, servers, UDP
sockets): the sockets it restored, in order; the entries it skipped, each with the message
that names it; every message for the window, in the order of the entries; and the skipped
entries as the settings file had them, written back untouched at the next save."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Generic, Protocol, TypeVar

from workbench.session.keys import SocketKey

__all__ = ["RestoreReport"]

_log = logging.getLogger("workbench.session")


class _Entry(Protocol):
    @property
    def raw(self) -> dict[str, Any] | None: ...

    def to_json(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=_Entry)


@dataclasses.dataclass
class RestoreReport(Generic[E]):
    keys: list[SocketKey] = dataclasses.field(default_factory=list)
    skipped: list[tuple[E, str]] = dataclasses.field(default_factory=list)
    messages: list[str] = dataclasses.field(default_factory=list)

    def say(self, *messages: str) -> None:
        """Messages for the window (each logged as a warning too)."""
        for message in messages:
            _log.warning("%s", message)
            self.messages.append(message)

    def skip(self, entry: E, message: str) -> None:
        """``entry`` is not restored; ``message`` names it and says why."""
        self.skipped.append((entry, message))
        self.say(message)

    @property
    def kept(self) -> list[dict[str, Any]]:
        """The skipped entries as the settings file had them."""
        return [
            entry.raw if entry.raw is not None else entry.to_json() for entry, _ in self.skipped
        ]
