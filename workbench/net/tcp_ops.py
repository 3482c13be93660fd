"""The one ``connect()`` or ``secure()`` a socket runs at a time, and what a send waits for.

The state table refuses a second operation while one runs (contract U4, U7), so a socket needs
one slot: the caller's result future (``op``), the task doing the work, and the outcome of the
TLS handshake that sends made during it wait for (contract S5).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from workbench.core.errors import NetError

__all__ = ["OpSlot"]

_log = logging.getLogger("workbench.sockets")

Body = Callable[[asyncio.Future[int]], Coroutine[Any, Any, None]]


class OpSlot:
    """One socket's running operation: ``run`` it, ``finish`` it with a code, ``abort`` it;
    ``wait_secured`` is what a send made during ``secure()`` awaits."""

    def __init__(self, socket_id: int) -> None:
        self.socket_id = socket_id
        self._op: asyncio.Future[int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._secured: asyncio.Future[int] | None = None

    def __repr__(self) -> str:
        return f"<OpSlot socket={self.socket_id} busy={self.busy}>"

    @property
    def busy(self) -> bool:
        return self._op is not None

    def is_current(self, op: asyncio.Future[int]) -> bool:
        return self._op is op

    async def run(
        self,
        body: Body,
        on_bug: Callable[[asyncio.Future[int]], None],
        on_cancel: Callable[[], object],
    ) -> int:
        """Run ``body`` in its own task and wait for its result code. The task can be cancelled
        by ``abort()`` (disconnect() or close(): the result is then -3) without cancelling the
        caller; a caller that is cancelled itself calls ``on_cancel`` to drop the attempt. A
        bug in ``body`` is logged, and ``on_bug(op)`` answers the caller."""
        loop = asyncio.get_running_loop()
        op: asyncio.Future[int] = loop.create_future()
        self._op = op

        async def guarded() -> None:
            try:
                await body(op)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug, not a network outcome: say so in the log and answer the caller, so
                # neither the call nor the socket is left hanging.
                _log.exception("socket %d: the operation failed unexpectedly", self.socket_id)
                if self._op is op:
                    on_bug(op)

        self._task = loop.create_task(guarded())
        try:
            return await op
        except asyncio.CancelledError:
            if self._op is op:
                on_cancel()
            raise

    def finish(self, op: asyncio.Future[int], code: int) -> bool:
        """Answer the caller of ``op`` (if it is still the current one)."""
        if op.done() or self._op is not op:
            return False
        self._op = self._task = None
        op.set_result(code)
        return True

    def abort(self) -> None:
        """A pending connect() or secure() returns ABORTED (contract U5)."""
        op, task = self._op, self._task
        self._op = self._task = None
        if op is not None and not op.done():
            op.set_result(NetError.ABORTED)
        if task is not None and not task.done():
            task.cancel()
        self.settle_secured(NetError.ABORTED)

    # -- the handshake that sends wait for (S5) --------------------------------------------

    def begin_secure(self) -> None:
        self._secured = asyncio.get_running_loop().create_future()

    def end_secure(self, op: asyncio.Future[int], code: int) -> None:
        if self.finish(op, code):
            self.settle_secured(code)

    def settle_secured(self, code: int) -> None:
        if self._secured is not None and not self._secured.done():
            self._secured.set_result(code)

    async def wait_secured(self) -> int:
        assert self._secured is not None
        return await asyncio.shield(self._secured)
