"""Socket → New server from preset: a server row that listens at once, with a preset's rules.

Each preset is a built-in server (or one of the README's examples) made of rules the user can
read and edit on the row's Rules tab (``workbench.core.rules_presets``). TLS echo is TLS on
accept with the built-in test CA (as the Listen tab's TLS group sets it, so the tab shows it)
plus the echo rule: the preset's own ``start-tls`` rule would need certificate options that no
tab shows. Chargen's endless stream and slow drip's timed bytes answer nothing, so no rule
expresses them: they stay the Local servers dock's code (``servers_panel``).
"""

from __future__ import annotations

import dataclasses

from workbench.core.rules import RuleSet
from workbench.core.rules_presets import PRESET_DESCRIPTIONS, Preset, preset
from workbench.session.record import DEFAULT_TEST_CA_NAMES, ServerTls
from workbench.ui.panels.rules_panel import PRESET_N  # one N for the menu and the Rules tab

__all__ = [
    "PRESET_ADDRESS",
    "PRESET_N",
    "SERVER_PRESETS",
    "ServerPreset",
    "dock_preset",
    "server_preset",
]

#: Where a preset server listens: loopback, on a port the OS picks.
PRESET_ADDRESS = "127.0.0.1"



@dataclasses.dataclass(frozen=True)
class ServerPreset:
    """One entry of the submenu: ``name`` (the action is ``newServerPreset_<name>``), the
    menu's ``label`` (also the row's name), the rules' ``preset`` and whether TLS is on
    accept (``tls``)."""

    name: str
    label: str
    preset: Preset
    tls: bool = False

    def ruleset(self) -> RuleSet:
        # TLS on accept secures the connection before the rules see it: echo is what is left.
        return preset(Preset.ECHO if self.tls else self.preset, PRESET_N)

    def server_tls(self) -> ServerTls | None:
        return ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES) if self.tls else None

    def description(self) -> str:
        text = PRESET_DESCRIPTIONS[self.preset]
        if self.preset in (Preset.CLOSE_AFTER, Preset.RESET_AFTER):
            text = text.replace("the N-th received chunk", f"{PRESET_N} received chunks")
        if self.tls:
            text += " The certificate comes from the built-in test CA."
        return text


SERVER_PRESETS: tuple[ServerPreset, ...] = (
    ServerPreset(Preset.ECHO.value, "Echo", Preset.ECHO),
    ServerPreset(Preset.TLS_ECHO.value, "TLS echo", Preset.TLS_ECHO, tls=True),
    ServerPreset(Preset.DISCARD.value, "Discard", Preset.DISCARD),
    ServerPreset(Preset.CLOSE_AFTER.value, f"Close after {PRESET_N}", Preset.CLOSE_AFTER),
    ServerPreset(Preset.RESET_AFTER.value, f"Reset after {PRESET_N}", Preset.RESET_AFTER),
    ServerPreset(Preset.SMTP.value, "SMTP", Preset.SMTP),
    ServerPreset(Preset.REDIS.value, "Redis", Preset.REDIS),
    ServerPreset(Preset.HTTP.value, "HTTP 200", Preset.HTTP),
)

_BY_NAME = {entry.name: entry for entry in SERVER_PRESETS}

#: The Local servers dock's kinds (``ServerKind`` values) that a preset expresses.
_DOCK_KINDS = ("echo", "tls-echo", "discard", "close-after", "reset-after")


def server_preset(name: str) -> ServerPreset:
    """The preset named ``name``; ``KeyError`` for another name."""
    return _BY_NAME[name]


def dock_preset(kind: str) -> ServerPreset | None:
    """The preset that expresses the dock's built-in server ``kind`` (None: chargen and slow
    drip, which stay code)."""
    return _BY_NAME[kind] if kind in _DOCK_KINDS else None
