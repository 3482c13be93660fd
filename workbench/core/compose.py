"""What the send composer does without Qt: the input as bytes, the history of what was sent,
and the words its file send shows.

The widget (``workbench/ui/composer.py``) only reads its fields, calls these, and shows the
result; everything here can be tested, and used by a script, without a window.

- ``encode_input(text, mode, line_ending)``: *Text* (UTF-8), *Hex* (``68 65 6c``, ``68656c``,
  ``0x68,0x65``) or *Escaped* (UTF-8 with ``\\r \\n \\t \\0 \\\\ \\xNN``), then the line ending
  once, except in Hex mode (``line_ending_applies``); the parsing itself lives in
  ``workbench.core.codecs``.
- ``SendHistory``: Up/Down through what was sent, with the draft kept aside.
- ``file_progress_text`` / ``progress_permille``: what the file send's progress bar shows.
"""

from __future__ import annotations

import re

from workbench.core import codecs
from workbench.core.formatting import format_size

__all__ = [
    "HISTORY_LIMIT",
    "MODES",
    "PROGRESS_SCALE",
    "HistoryEntry",
    "SendHistory",
    "encode_input",
    "file_progress_text",
    "has_lone_surrogate",
    "line_ending_applies",
    "mask_surrogates",
    "payload_summary",
    "progress_permille",
]

#: The composer's input modes, in the order the mode box offers them.
MODES = ("Text", "Hex", "Escaped")
#: History entries kept.
HISTORY_LIMIT = 100
#: The bar's scale: ``QProgressBar`` takes an int, so progress is counted in thousandths.
PROGRESS_SCALE = 1000

#: (text, mode) of one thing sent.
HistoryEntry = tuple[str, str]

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """A Python str holds a surrogate code point only unpaired; Qt's editor would silently
    drop it, so such text is held aside and refused instead (it cannot be encoded)."""
    return _SURROGATE.search(text) is not None


def mask_surrogates(text: str) -> str:
    """``text`` with every lone surrogate shown as U+FFFD, so that Qt can display it."""
    return _SURROGATE.sub("\ufffd", text)


def line_ending_applies(mode: str) -> bool:
    """Whether ``mode`` appends the line ending: Hex does not. Hex spells out every byte, so
    ``0x68,0x65 6c6c6F`` is exactly 5 bytes; a line ending is typed as ``0d 0a``."""
    return mode != "Hex"


def encode_input(text: str, mode: str, line_ending: str) -> bytes:
    """The bytes to send for ``text`` in ``mode`` plus ``line_ending`` (not in Hex mode, see
    ``line_ending_applies``); raises InputError."""
    if mode == "Hex":
        data = codecs.parse_hex(text)
    elif mode == "Escaped":
        data = codecs.parse_escaped(text)
    elif mode == "Text":
        data = codecs.encode_text(text, "utf-8")
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if not line_ending_applies(mode):
        return data
    return data + codecs.LINE_ENDINGS[line_ending]


def payload_summary(text: str, preview: int = 200) -> str:
    """What the editor shows instead of a pasted payload it does not hold: how long it is, why
    it is held aside, and its first ``preview`` characters on one line."""
    shown = mask_surrogates(text[:preview].replace("\n", " "))
    why = (
        "with a lone surrogate the editor cannot hold"
        if has_lone_surrogate(text)
        else "too large to edit here; Send sends them all"
    )
    return f"[{len(text):,} characters pasted — {why}]\n{shown}…"


def file_progress_text(sent: int, size: int) -> str:
    """The progress bar's text: short enough to fit ("3.0 MiB / 12.5 GiB")."""
    return f"{format_size(sent)} / {format_size(size)}"


def progress_permille(sent: int, size: int) -> int:
    """``sent`` of ``size`` in thousandths (an empty file is done at once)."""
    if size <= 0:
        return PROGRESS_SCALE
    return min(PROGRESS_SCALE, sent * PROGRESS_SCALE // size)


class SendHistory:
    """What was sent, oldest first, and where Up/Down has walked to.

    ``back`` and ``forward`` answer ``(handled, entry)``: ``handled`` is whether the key
    belongs to the history (otherwise it moves the cursor as usual), ``entry`` what the editor
    shows now (``None``: leave it as it is, e.g. Up at the oldest entry).
    """

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self.limit = limit
        self._entries: list[HistoryEntry] = []
        self._at: int | None = None  # the entry shown; None: the draft
        self._draft: HistoryEntry = ("", MODES[0])

    def __repr__(self) -> str:
        return f"<SendHistory {len(self._entries)} entries at={self._at}>"

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[HistoryEntry]:
        return list(self._entries)

    @property
    def at(self) -> int | None:
        """The index of the entry shown, or ``None`` while the draft is."""
        return self._at

    def remember(self, text: str, mode: str) -> None:
        """``text`` in ``mode`` was sent: append it (unless it repeats the last entry) and go
        back to the draft."""
        entry = (text, mode)
        if not self._entries or self._entries[-1] != entry:
            self._entries.append(entry)
            del self._entries[: -self.limit]
        self._at = None

    def back(self, current: HistoryEntry) -> tuple[bool, HistoryEntry | None]:
        """One entry older; ``current`` is kept as the draft when leaving it."""
        if not self._entries:
            return False, None
        if self._at is None:
            self._draft = current
            self._at = len(self._entries) - 1
        elif self._at > 0:
            self._at -= 1
        else:
            return True, None
        return True, self._entries[self._at]

    def forward(self) -> tuple[bool, HistoryEntry | None]:
        """One entry newer; past the newest, the draft again."""
        if self._at is None:
            return False, None
        if self._at < len(self._entries) - 1:
            self._at += 1
            return True, self._entries[self._at]
        self._at = None
        return True, self._draft
