"""Option panels for the selected socket: Properties, Connect, TLS and TCP options; for a
selected server (a listening socket), Listen.

Each panel is a thin form (house style: "a panel collects values into an options dataclass and
calls the facade"). It validates every field as the user types, shows the problem beside the
field and disables the button while anything is invalid, so nothing invalid reaches the core.
Which calls make sense on the socket at all is decided in one place,
``workbench.session.controls.enabled_controls``: Connect is disabled on a connected socket,
Secure unless the socket is connected and plain, the options unless it is connected.

A click starts ONE call on ``session.sockets`` (the ``LoggedTcp``, so it is in the call log)
through ``TaskRunner.start``; the result appears beside the button that caused it: ``OK`` in
green, or ``-102 CONNECTION_REFUSED: nothing is listening on that port`` in red.

Results are kept per socket in the session (``SocketSession.set_result(sid, control, code)``,
controls ``update``, ``connect``, ``disconnect``, ``secure``, ``keepAlive``, ``noDelay``,
``pause``), so selecting another socket and coming back shows that socket's last results. A
call that finishes after the user selected another socket is recorded for its own socket and
not shown on the current one.

Panels refresh from the socket's record on ``session.socketStatesChanged`` (coalesced by the
session, ≤ 40 Hz); a refresh never overwrites a field the user has edited.

Modules: ``widgets`` (result and error labels, the port field, layout helpers), ``base`` (the
``Panel`` they share), ``file_field`` (a path with Browse…), and one module per tab. The TLS
tab's parts have their own: ``tls_secure_extras`` (ALPN, Resume session, STARTTLS preset),
``tls_details`` (what was negotiated, the handshake list), ``certificate_view`` and
``certificate_details`` (the chains as sent and as verified, one certificate's facts).
"""

from workbench.ui.panels.connect import ConnectPanel
from workbench.ui.panels.listen import ListenPanel
from workbench.ui.panels.properties import PropertiesPanel
from workbench.ui.panels.tcp_options import TcpOptionsPanel
from workbench.ui.panels.tls import TlsPanel
from workbench.ui.panels.widgets import (
    ERROR_COLOR,
    OK_COLOR,
    WARNING_COLOR,
    FieldError,
    PortEdit,
    ResultLabel,
)

__all__ = [
    "ERROR_COLOR",
    "OK_COLOR",
    "WARNING_COLOR",
    "ConnectPanel",
    "FieldError",
    "ListenPanel",
    "PortEdit",
    "PropertiesPanel",
    "ResultLabel",
    "TcpOptionsPanel",
    "TlsPanel",
]

# UDP rows (chrome.sockets.udp): Bind, Multicast and Properties.
from workbench.ui.panels.bind import BindPanel
from workbench.ui.panels.multicast import MulticastPanel
from workbench.ui.panels.udp_base import UdpPanel
from workbench.ui.panels.udp_properties import UdpPropertiesPanel

__all__ += ["BindPanel", "MulticastPanel", "UdpPanel", "UdpPropertiesPanel"]
