"""The data view's selection: a byte range of the capture, and how the mouse makes it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

#: What the pointer is on: (stream offset, is a byte). A byte covers [x, x + 1); anything else
#: (text mode: a boundary between characters) covers [x, x).
Hit = tuple[int, bool]


class ByteSelection(QObject):
    """The selected stream range [start, end), or None; never empty.

    Signals:
        changed(): the range changed.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._range: tuple[int, int] | None = None
        self._anchor: Hit | None = None  # where the mouse was pressed

    def __repr__(self) -> str:
        return f"<ByteSelection {self._range} anchor={self._anchor}>"

    def range(self) -> tuple[int, int] | None:
        return self._range

    def set(self, sel: tuple[int, int] | None) -> None:
        """Select ``sel`` (an empty range selects nothing)."""
        if sel is not None and sel[0] >= sel[1]:
            sel = None
        if sel != self._range:
            self._range = sel
            self.changed.emit()

    def set_clamped(self, start: int, end: int, total: int) -> None:
        """Select between two offsets in either order, clipped to a capture of ``total``."""
        start, end = max(0, min(start, total)), max(0, min(end, total))
        self.set((min(start, end), max(start, end)))

    def reset(self) -> None:
        """Another capture: nothing selected, no anchor (and no signal)."""
        self._range = None
        self._anchor = None

    def press(self, hit: Hit, *, extend: bool, total: int) -> None:
        """A click: extend the selection to ``hit`` (Shift), or start a new one there."""
        if extend and self._anchor is not None:
            self.drag_to(hit, total)
        else:
            self._anchor = hit
            self.set(None)

    def drag_to(self, hit: Hit, total: int) -> None:
        """Select from where the mouse was pressed to ``hit``, both ends included."""
        if self._anchor is None:
            return
        (a, a_byte), (c, c_byte) = self._anchor, hit
        self.set((min(a, c), min(max(a + a_byte, c + c_byte), total)))

    def to_copy(self, total: int, cap: int) -> tuple[int, int, int]:
        """(start, end, wanted) to copy: the selection or everything, at most ``cap`` bytes;
        ``wanted`` is the size before the cap."""
        start, end = self._range or (0, total)
        return start, min(end, start + cap), end - start
