"""What a restore at start did, for every kind of persistent entry (TCP sockets, servers, UDP
sockets): the sockets it restored, in order; the entries it skipped, each with the message
that names it; every message for the window, in the order of the entries; and the skipped
entries as the settings file had them, written back untouched at the next save."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from workbench.session.keys import SocketKey

__all__ = ["RestoreReport", "restore_each"]

_log = logging.getLogger("workbench.session")


class _Entry(Protocol):
    @property
    def raw(self) -> dict[str, Any] | None: ...

    def to_json(self) -> dict[str, Any]: ...

    def problem(self) -> str | None: ...

    def skip_message(self, problem: str) -> str: ...


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


#: Restores one entry: its socket's key and what the window is to be told of it. A
#: ``TypeError``/``ValueError`` (the core refused it) skips the entry.
RestoreOne = Callable[[E], Awaitable[tuple[SocketKey, list[str]]]]


async def restore_each(saved: Iterable[E], restore_one: RestoreOne[E]) -> RestoreReport[E]:
    """Restore every entry in order; one that cannot be restored (its own checks, or the
    core's refusal) never stops the others: it is skipped with the message that names it."""
    restored: RestoreReport[E] = RestoreReport()
    for entry in saved:
        problem = entry.problem()
        if problem is None:
            try:
                key, notes = await restore_one(entry)
            except (TypeError, ValueError) as exc:
                problem = str(exc)
            else:
                restored.keys.append(key)
                restored.say(*notes)
                continue
        restored.skip(entry, entry.skip_message(problem))
    return restored
