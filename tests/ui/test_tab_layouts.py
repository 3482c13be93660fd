"""The TLS and Rules tabs at the window's default size (1280x800): nothing squeezed or cut
(each visible label, button and box is at least as large as its text needs, and no tab scrolls
sideways), "verified" said once, and what a user came for in view without scrolling (the
Secure button and the first result on the TLS tab; the whole rule editor on the Rules tab)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QWidget,
)

import pytest

from tests.net.tls_peers import Pki, ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_keylog_ui import secure
from tests.ui.test_listen_panel import new_server
from tests.ui.test_main_window import click, new_socket, show_tab
from workbench.ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def page(window: MainWindow, panel: QWidget) -> QScrollArea:
    scroll = window.tabs.scroll_of(panel)
    assert isinstance(scroll, QScrollArea)
    return scroll


def cut(panel: QWidget) -> list[str]:
    """The visible widgets of ``panel`` smaller than their text needs, as ``name: why``."""
    found = []
    for widget in panel.findChildren(QWidget):
        if not widget.isVisible() or not isinstance(
            widget, (QLabel, QAbstractButton, QComboBox, QLineEdit)
        ):
            continue
        if isinstance(widget.parentWidget(), (QLineEdit, QAbstractSpinBox, QComboBox)):
            continue  # a clear button, a spin box's or a combo box's own editor
        name = widget.objectName() or getattr(widget, "text", lambda: "")() or repr(widget)
        size = widget.size()
        if isinstance(widget, QLabel) and widget.wordWrap():
            if size.height() < widget.heightForWidth(size.width()):
                found.append(f"{name}: wrapped text taller than {size.height()}")
            continue
        hint = widget.minimumSizeHint() if isinstance(widget, QLineEdit) else widget.sizeHint()
        if size.width() < hint.width() or size.height() < hint.height():
            found.append(f"{name}: {size.width()}x{size.height()} < {hint.width()}x{hint.height()}")
    return found


def top_in(scroll: QScrollArea, widget: QWidget) -> int:
    """Where ``widget`` starts in the tab's page (0: the top of the page)."""
    return widget.mapTo(scroll.widget(), QPoint(0, 0)).y()


def test_the_tls_tab_at_1280x800_is_not_cut_and_shows_the_results_without_scrolling(
    qtbot: Any, workbench_window: MainWindow, tls_echo_server: ThreadedServer, pki: Pki
) -> None:
    window = workbench_window
    assert (window.width(), window.height()) == (1280, 800)
    secure(qtbot, window, tls_echo_server.port, pki)
    panel = window.tls_panel
    qtbot.waitUntil(lambda: panel.tlsDetails.facts["verified"].text() != "verified: —",
                    timeout=WAIT_MS)  # fmt: skip
    scroll = page(window, panel)
    qtbot.waitUntil(lambda: not cut(panel), timeout=WAIT_MS)  # once the layout has settled
    assert scroll.horizontalScrollBar().maximum() == 0  # nothing runs off to the right
    # The options a handshake seldom needs are folded: Secure and the first result (the
    # peer certificate) are on the first screen of the tab.
    assert not panel.moreOptions.expanded and not panel.serverName.isVisible()
    visible = scroll.viewport().height()
    assert top_in(scroll, panel.secureButton) + panel.secureButton.height() <= visible
    assert top_in(scroll, panel.details) < visible
    # "verified" is said once on the tab: in Negotiated, marked.
    texts = [label.text() for label in panel.findChildren(QLabel) if label.isVisible()]
    assert [text for text in texts if "verified" in text.lower()] == ["verified: yes"]


def test_more_options_folds_but_never_hides_a_value_or_an_error(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_socket(qtbot, window)
    show_tab(window, window.tls_panel)
    panel = window.tls_panel
    more = panel.moreOptions
    assert not more.expanded and more.header.text() == "More options"
    click(qtbot, more.header)
    assert more.expanded and panel.serverName.isVisible()
    panel.secureExtras.alpnEdit.setText("h2, http/1.1")
    click(qtbot, more.header)  # folded by hand: the header says what is set inside
    assert not more.expanded and more.header.text() == "More options (ALPN)"
    # A value set from elsewhere unfolds it; so does a field that needs fixing.
    panel.secureExtras.resumeSessionCheck.setChecked(True)
    assert more.expanded and more.header.text() == "More options"
    click(qtbot, more.header)
    assert more.header.text() == "More options (ALPN, resume)"
    panel.secureExtras.alpnEdit.setText("h2,,")
    assert more.expanded and panel.secureExtras.alpnError.isVisible()
    assert not panel.secureButton.isEnabled()
    # Another socket has its own (empty) form: nothing set under the header.
    new_socket(qtbot, window)
    assert panel.secureExtras.alpnEdit.text() == ""
    assert "ALPN" not in more.header.text()


def test_more_options_folded_by_hand_over_an_error_says_what_to_fix(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_socket(qtbot, window)
    show_tab(window, window.tls_panel)
    panel = window.tls_panel
    more = panel.moreOptions
    panel.secureExtras.alpnEdit.setText("h2,,http/1.1")  # unfolds: the error is in view
    assert more.expanded and "comma" in (panel.form_error() or "")
    click(qtbot, more.header)  # folded by hand: Secure stays greyed, and the header says why
    assert not more.expanded
    assert more.header.text() == "More options (⚠ fix the ALPN; ALPN)"
    panel.secureExtras.alpnEdit.setText("h2, http/1.1")
    assert more.header.text() == "More options (ALPN)" and panel.form_error() is None


def test_the_rules_tab_at_1280x800_is_not_cut_and_shows_the_whole_editor(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_server(qtbot, window)
    panel = window.rules_panel
    window.tabs.show_panel(panel)
    click(qtbot, panel.rules_list.add_button)  # a rule selected: its editor is enabled
    scroll = page(window, panel)
    # A server row has no data pane: its tabs take the right side's height.
    assert window.data_pane.isHidden()
    right = window.window_layout.splitters["right"]
    qtbot.waitUntil(lambda: scroll.height() > right.height() // 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not cut(panel), timeout=WAIT_MS)
    assert scroll.horizontalScrollBar().maximum() == 0
    # The editor is under the list, as wide as the tab: its widest rows are not cut.
    editor = panel.editor
    assert editor.width() >= panel.rules_list.width()
    for field in (editor.match_encoding, editor.line_ending, editor.continue_matching, editor.then):
        assert field.mapTo(panel, QPoint(field.width(), 0)).x() <= scroll.viewport().width()
    # Everything down to Apply and the Test header is on the first screen.
    visible = scroll.viewport().height()
    header = panel.test_section.header
    assert top_in(scroll, header) + header.height() <= visible
    assert not panel.test_section.expanded
    click(qtbot, header)
    assert panel.trial.isVisible()
    qtbot.waitUntil(lambda: not cut(panel), timeout=WAIT_MS)
    assert panel.trial.button.isVisible() and panel.trial.output.isVisible()


def test_the_rules_test_button_scrolls_its_output_into_view(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_server(qtbot, window)
    panel = window.rules_panel
    window.tabs.show_panel(panel)
    click(qtbot, panel.rules_list.add_button)
    scroll = page(window, panel)
    click(qtbot, panel.test_section.header)
    qtbot.waitUntil(lambda: not cut(panel), timeout=WAIT_MS)
    output, bar = panel.trial.output, scroll.verticalScrollBar()
    assert top_in(scroll, output) + output.height() > bar.value() + scroll.viewport().height()
    panel.trial.sample.setPlainText("PING\\r\\n")
    click(qtbot, panel.trial.button)
    assert "frame 1" in output.toPlainText()
    top = top_in(scroll, output) - bar.value()
    assert top >= 0 and top + output.height() <= scroll.viewport().height()


def test_a_section_folds_and_names_what_it_holds(qtbot: Any) -> None:
    from workbench.ui.panels.section import Section

    section = Section("Test", "someSection", "what it holds")
    qtbot.addWidget(section)
    section.show()
    assert section.objectName() == "someSection" and section.header.toolTip() == "what it holds"
    assert not section.expanded and section.body.isHidden()
    assert section.header.arrowType() == Qt.ArrowType.RightArrow
    with qtbot.waitSignal(section.toggled) as blocker:
        section.set_expanded(True)
    assert blocker.args == [True] and section.body.isVisible()
    assert section.header.arrowType() == Qt.ArrowType.DownArrow
    section.set_summary("two set")
    assert section.header.text() == "Test"  # unfolded: the fields say it themselves
    section.set_expanded(False)
    assert section.header.text() == "Test (two set)"
    section.set_summary("")
    assert section.header.text() == "Test"


def test_a_long_summary_never_widens_the_tab(qtbot: Any, workbench_window: MainWindow) -> None:
    window = workbench_window
    new_socket(qtbot, window)
    show_tab(window, window.tls_panel)
    panel = window.tls_panel
    scroll = page(window, panel)
    panel.serverName.setText("a-rather-long-server-name.example.internal")
    panel.keylogFile.set_path("/tmp/a-key-log-with-a-long-name.keys")
    panel.clientCert.set_path("/nonexistent/client-certificate.pem")
    panel.clientKey.set_path("/nonexistent/client-key.pem")
    extras = panel.secureExtras
    extras.alpnEdit.setText("h2,,http/1.1")
    extras.resumeSessionCheck.setChecked(True)
    extras.starttlsCombo.setCurrentIndex(extras.starttlsCombo.findData("postgres"))
    panel.moreOptions.set_expanded(False)
    header = panel.moreOptions.header
    assert header.text().startswith("More options (⚠ fix the client certificate, client key, ALPN;")
    assert header.sizeHint().width() > scroll.viewport().width()  # it is elided, then
    for _ in range(3):  # the layout requests the header's change posted: handled now
        QApplication.sendPostedEvents()
    assert header.width() <= scroll.viewport().width()
    assert scroll.horizontalScrollBar().maximum() == 0  # no sideways scrolling
