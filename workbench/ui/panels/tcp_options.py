"""The TCP options tab: a control per row of ``workbench.core.options.OPTIONS``
(keep-alive with its delay → ``setKeepAlive``; no-delay → ``setNoDelay``), each set through
``set_option``; and Pause/Resume → ``set_paused()``."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QPushButton, QSpinBox, QWidget

from workbench.core.options import KEEP_ALIVE, NO_DELAY, OptionArgs, OptionSpec
from workbench.session.controls import Control
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.base import Panel
from workbench.ui.panels.widgets import compact_form, describe, form_row, line, set_text

__all__ = ["TcpOptionsPanel"]


class TcpOptionsPanel(Panel):
    """A control per socket option, set with ``set_option``; Pause/Resume →
    ``set_paused()``. A control shows the socket's own setting, else what the core sets on
    every connect (the option's ``default``, contract K2)."""

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("tcpOptionsPanel")
        form = compact_form(QFormLayout(self))
        self._build_keep_alive(form)
        self._build_no_delay(form)
        self._build_pause(form)

        self.keepAlive.toggled.connect(self.keepAliveDelay.setEnabled)
        self.keepAliveButton.clicked.connect(self._keep_alive_clicked)
        self.noDelayButton.clicked.connect(self._no_delay_clicked)
        self.pauseButton.clicked.connect(self._pause_clicked)
        self._fill_options(None)
        self._show_paused(False)
        self._update_controls()

    def _build_keep_alive(self, form: QFormLayout) -> None:
        self.keepAlive = QCheckBox("&On")
        self.keepAlive.setObjectName("keepAliveCheck")
        describe(
            self.keepAlive, "Keep-alive", "Send TCP keep-alive probes when the connection is idle"
        )
        self.keepAliveDelay = QSpinBox()
        self.keepAliveDelay.setObjectName("keepAliveDelay")
        # The core refuses more (ValueError): Linux caps TCP_KEEPIDLE there.
        delay = KEEP_ALIVE.params[1]
        self.keepAliveDelay.setRange(delay.low, delay.high)
        self.keepAliveDelay.setSpecialValueText("OS default")
        self.keepAliveDelay.setSuffix(" s")
        describe(
            self.keepAliveDelay,
            "Keep-alive delay",
            "Seconds of idleness before the first probe (0 = the OS default)",
        )
        delay_label = QLabel("after")
        delay_label.setBuddy(self.keepAliveDelay)
        form_row(
            form,
            "&Keep-alive:",
            line(self.keepAlive, delay_label, self.keepAliveDelay),
            self.keepAlive,
        )
        self.keepAliveButton = QPushButton("Set keep-alive")
        self.keepAliveButton.setObjectName("keepAliveButton")
        describe(
            self.keepAliveButton,
            "Set keep-alive",
            "Apply keep-alive on/off and the delay to the connected socket",
        )
        self.keepAliveResult = self._result_label(KEEP_ALIVE.name, KEEP_ALIVE.method,
                                                  "keepAliveResult")
        form.addRow(self.keepAliveButton, self.keepAliveResult)

    def _build_no_delay(self, form: QFormLayout) -> None:
        self.noDelay = QCheckBox("No &delay (TCP_NODELAY)")
        self.noDelay.setObjectName("noDelayCheck")
        describe(
            self.noDelay,
            "No delay",
            "Turn off Nagle's algorithm so small writes are sent immediately",
        )
        form.addRow("", self.noDelay)
        self.noDelayButton = QPushButton("Set no-delay")
        self.noDelayButton.setObjectName("noDelayButton")
        describe(
            self.noDelayButton, "Set no-delay", "Apply the no-delay setting to the connected socket"
        )
        self.noDelayResult = self._result_label(NO_DELAY.name, NO_DELAY.method, "noDelayResult")
        form.addRow(self.noDelayButton, self.noDelayResult)

    def _build_pause(self, form: QFormLayout) -> None:
        self.pauseButton = QPushButton("&Pause")
        self.pauseButton.setObjectName("pauseButton")
        self.pauseButton.setCheckable(True)
        describe(
            self.pauseButton,
            "Pause receiving",
            "Pause: stop reading (the peer is throttled by TCP); Resume: deliver again",
        )
        self.pauseResult = self._result_label("pause", "setPaused", "pauseResult")
        form.addRow(self.pauseButton, self.pauseResult)
        self.pauseState = QLabel("")
        self.pauseState.setObjectName("pauseState")
        self.pauseState.setWordWrap(True)
        describe(self.pauseState, "Receive state", "Whether this socket delivers received data")
        form.addRow("", self.pauseState)

    # -- calls ---------------------------------------------------------------------------

    def _update_controls(self) -> None:
        allowed = self._allowed()
        # K1: the options need a connected socket (the core answers -2 otherwise).
        self.keepAliveButton.setEnabled(Control.SET_OPTIONS in allowed)
        self.noDelayButton.setEnabled(Control.SET_OPTIONS in allowed)
        self.pauseButton.setEnabled(bool(allowed & {Control.PAUSE, Control.RESUME}))

    def _keep_alive_clicked(self) -> None:
        enable = self.keepAlive.isChecked()
        self._set(KEEP_ALIVE, enable, self.keepAliveDelay.value() if enable else 0)

    def _no_delay_clicked(self) -> None:
        self._set(NO_DELAY, self.noDelay.isChecked())

    def _set(self, spec: OptionSpec, *args: bool | int) -> None:
        if Control.SET_OPTIONS not in self._allowed():
            return
        name = spec.name
        self._start(
            name, spec.method, lambda sid: self._session.sockets.set_option(sid, name, *args)
        )

    def _pause_clicked(self, checked: bool) -> None:
        self._show_paused(checked)
        self._start(
            "pause",
            "setPaused",
            lambda sid: self._session.sockets.set_paused(sid, checked),
        )

    # -- per socket ----------------------------------------------------------------------

    def _fill_options(self, sid: int | None) -> None:
        enable, delay = self._setting(sid, KEEP_ALIVE)
        self.keepAlive.setChecked(bool(enable))
        self.keepAliveDelay.setValue(int(delay))
        self.keepAliveDelay.setEnabled(bool(enable))
        (no_delay,) = self._setting(sid, NO_DELAY)
        self.noDelay.setChecked(bool(no_delay))

    def _setting(self, sid: int | None, spec: OptionSpec) -> OptionArgs:
        record = self._session.ui(sid) if sid is not None else None
        options: dict[str, OptionArgs] = record.intent.options if record is not None else {}
        return options.get(spec.name, spec.default)

    def _switched(self, previous: int | None, sid: int | None) -> None:
        self._fill_options(sid)

    def _show_paused(self, paused: bool) -> None:
        if self.pauseButton.isChecked() != paused:
            self.pauseButton.setChecked(paused)
        set_text(self.pauseButton, "&Resume" if paused else "&Pause")
        self.pauseButton.setAccessibleName("Resume receiving" if paused else "Pause receiving")
        info = self._info()
        if paused:
            text = "Paused: received data is held and the peer is throttled."
        elif info is not None and info.connected:
            text = "Receiving."
        else:
            text = ""
        set_text(self.pauseState, text)

    def refresh(self) -> None:
        if self._record() is None or self._pending(self._sid, "pause"):
            return  # while set_paused runs, the button shows what the user asked for
        # Resume only where resuming delivers something (``user_paused``): a socket the core
        # paused because its stream ended offers Pause, for its next connect.
        self._show_paused(Control.RESUME in self._allowed())

    def _call_ended(self, key: str) -> None:
        if key == "pause":
            self.refresh()
