"""Chrome-style events: ``add_listener``, ``remove_listener``, ``has_listener``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Event"]

T = TypeVar("T")
_log = logging.getLogger("workbench.sockets")


class Event(Generic[T]):
    """A list of listeners called in the order they were added.

    A listener that raises is logged and skipped: the others, and later events, still run
    (contract R4). Listeners may add or remove listeners while an event is dispatched; the
    change applies from the next event.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        # A tuple, replaced on change: dispatch loops over it without copying it per event,
        # which matters at tens of thousands of events a second.
        self.listeners: tuple[Callable[[T], object], ...] = ()

    def add_listener(self, listener: Callable[[T], object]) -> None:
        if not callable(listener):
            raise TypeError(f"listener must be callable, not {type(listener).__name__}")
        if listener not in self.listeners:
            self.listeners = (*self.listeners, listener)

    def remove_listener(self, listener: Callable[[T], object]) -> None:
        if listener in self.listeners:
            self.listeners = tuple(fn for fn in self.listeners if fn != listener)

    def has_listener(self, listener: Callable[[T], object]) -> bool:
        return listener in self.listeners

    def dispatch(self, info: T) -> None:
        for listener in self.listeners:
            try:
                listener(info)
            except Exception:
                self.log_failure(listener)

    def log_failure(self, listener: Callable[[T], object]) -> None:
        _log.exception("%s listener %r raised; delivery goes on", self.name, listener)

    def __repr__(self) -> str:
        return f"<Event {self.name} listeners={len(self.listeners)}>"
