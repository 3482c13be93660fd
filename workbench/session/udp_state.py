"""What a UDP row shows, decided once here: views pick its colours and icons from the typed
``UdpState``, never from the words of its State cell."""

from __future__ import annotations

import enum

from workbench.session.record import UdpRecord, udp_text

__all__ = ["UdpState", "udp_state", "udp_state_text"]


class UdpState(enum.Enum):
    """A UDP socket is bound or not, paused or not; a receive error pauses it (contract D8)."""

    UNBOUND = "unbound"
    BOUND = "bound"
    PAUSED = "paused"
    FAILED = "failed"


def udp_state(record: UdpRecord) -> UdpState:
    if record.error is not None:
        return UdpState.FAILED
    if not record.bound:
        return UdpState.UNBOUND
    return UdpState.PAUSED if record.info.paused else UdpState.BOUND


def udp_state_text(record: UdpRecord) -> str:
    """``udp_text``: Bound to 127.0.0.1:5353, Paused on …, Not bound, Error: NAME; and "Not
    bound, paused" for a socket paused before its bind (it binds paused)."""
    if udp_state(record) is UdpState.UNBOUND and record.info.paused:
        return "Not bound, paused"
    return udp_text(record)
