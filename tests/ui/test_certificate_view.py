"""The certificate view against ``openssl s_server`` with a three-level chain (root →
intermediate → leaf; the server sends leaf and intermediate with ``-cert_chain``): the chain
as sent and as verified, the selected certificate's facts, Copy PEM and Save chain as PEM."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QGroupBox

import pytest

from tests.ui.conftest import WAIT_MS
from tests.ui.tls_window import LEAF_DAYS, ChainPki, der
from workbench.core.certificates import certificate_info
from workbench.ui.panels.certificate_details import validity_words
from workbench.ui.panels.certificate_view import certificate_pem, chain_pem
from workbench.ui.panels.widgets import WARNING_COLOR

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def fingerprint(pem: str, name: str) -> str:
    digest = hashlib.new(name, der(pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def secured(tls_tab: Any, chain_pki: ChainPki, s_server: Any, *, verify: bool = True) -> Any:
    server = s_server(chain_pki.leaf, "-cert_chain", str(chain_pki.chain_file))
    tls_tab.connected(server.port, "localhost")
    tls_tab.panel.verify.setChecked(verify)
    tls_tab.secure(trust=chain_pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    view = tls_tab.panel.certificateView
    tls_tab.qtbot.waitUntil(lambda: view.lists[0].count() > 0, timeout=WAIT_MS)
    return view


def listed(view: Any, tab: int) -> list[str]:
    chain = view.lists[tab]
    return [chain.item(i).text() for i in range(chain.count())]


def test_the_chain_as_sent_and_as_verified_leaf_first(
    tls_tab: Any, chain_pki: ChainPki, s_server: Any
) -> None:
    view = secured(tls_tab, chain_pki, s_server)
    assert tls_tab.panel.findChild(QGroupBox, "certificateView") is view
    assert [view.chainTabs.tabText(i) for i in range(2)] == ["As sent", "As verified"]
    sent, verified = view.chain(0), view.chain(1)
    assert [c.der for c in sent] == [
        der(p) for p in (chain_pki.leaf_pem, chain_pki.intermediate_pem)
    ]
    assert [c.der for c in verified] == [
        der(p) for p in (chain_pki.leaf_pem, chain_pki.intermediate_pem, chain_pki.root_pem)
    ]
    assert listed(view, 0)[0] == "localhost  (leaf)"
    assert listed(view, 0)[1].endswith("(intermediate)")
    assert [t.rsplit("(", 1)[1] for t in listed(view, 1)] == ["leaf)", "intermediate)", "root)"]
    assert view.lists[0].currentRow() == 0  # the leaf is shown first
    assert view.details.certificate() == sent[0]


def test_the_selected_certificate_s_facts(tls_tab: Any, chain_pki: ChainPki, s_server: Any) -> None:
    view = secured(tls_tab, chain_pki, s_server)
    fields = view.details.fields
    leaf = certificate_info(der(chain_pki.leaf_pem))
    assert fields["subject"].text() == leaf.subject and "CN=localhost" in leaf.subject
    assert fields["issuer"].text() == leaf.issuer
    assert fields["san"].text() == "DNS:localhost\nIP:127.0.0.1"
    assert fields["validity"].text() == f"{leaf.not_before} → {leaf.not_after}"
    # Fewer than 30 days left: said, and marked.
    assert fields["days"].text() in (f"{LEAF_DAYS} days left", f"{LEAF_DAYS - 1} days left")
    assert fields["days"].property("mark") == "soon"
    # The row's label does not repeat its value's words ("Days left: 12 days left").
    form = view.details.layout()
    assert form.labelForField(fields["days"]).text() == "Expiry:"
    assert WARNING_COLOR in fields["days"].styleSheet()
    assert fields["key"].text() == f"{leaf.key_type} {leaf.key_bits} bits" + (
        f", {leaf.curve}" if leaf.curve else ""
    )
    assert fields["signature"].text() == leaf.signature_algorithm
    # Shown on lines of 16 pairs; copied as openssl prints it.
    assert fields["sha256"].text().replace("\n", ":") == fingerprint(chain_pki.leaf_pem, "sha256")
    assert fields["sha256"].text().count("\n") == 1
    assert fields["sha1"].text().replace("\n", ":") == fingerprint(chain_pki.leaf_pem, "sha1")
    assert fields["isCa"].text() == "no" and fields["mustStaple"].text() == "no"
    assert fields["ocsp"].text() == "none" and fields["caIssuers"].text() == "none"
    assert fields["staple"].text() == "not available on this Python"

    view.chainTabs.setCurrentIndex(1)
    view.lists[1].setCurrentRow(2)
    root = certificate_info(der(chain_pki.root_pem))
    assert fields["subject"].text() == root.subject == fields["issuer"].text()
    assert fields["isCa"].text() == "yes"
    assert fields["sha256"].text().replace("\n", ":") == fingerprint(chain_pki.root_pem, "sha256")
    assert fields["days"].property("mark") == ""  # trustme's root lasts for years
    view.details.copySha1Button.click()
    assert QGuiApplication.clipboard().text() == fingerprint(chain_pki.root_pem, "sha1")


def test_copy_pem_copies_the_selected_certificate(
    tls_tab: Any, chain_pki: ChainPki, s_server: Any
) -> None:
    view = secured(tls_tab, chain_pki, s_server)
    view.copyPemButton.click()
    assert QGuiApplication.clipboard().text() == chain_pki.leaf_pem
    assert view.exportResult.text() == "Copied localhost (leaf) as PEM to the clipboard"
    view.lists[0].setCurrentRow(1)
    view.copyPemButton.click()
    assert QGuiApplication.clipboard().text() == chain_pki.intermediate_pem
    assert view.exportResult.text().endswith("(intermediate) as PEM to the clipboard")
    view.details.copySha256Button.click()
    assert QGuiApplication.clipboard().text() == fingerprint(chain_pki.intermediate_pem, "sha256")


# The dialog is a top-level window: the offscreen platform warns about its size hints.
@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
@pytest.mark.parametrize("tab", [0, 1], ids=["as-sent", "as-verified"])
def test_save_chain_as_pem_writes_the_chain_shown(
    tls_tab: Any, chain_pki: ChainPki, s_server: Any, tmp_path: Path, tab: int
) -> None:
    view = secured(tls_tab, chain_pki, s_server)
    view.chainTabs.setCurrentIndex(tab)
    before = set(view.findChildren(QFileDialog))
    view.exportChainAction.trigger()
    [dialog] = [d for d in view.findChildren(QFileDialog) if d not in before]
    tls_tab.qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.windowModality() != Qt.WindowModality.ApplicationModal  # open(), not exec()
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    target = tmp_path / "chain.pem"
    dialog.fileSelected.emit(str(target))
    dialog.reject()
    expected = chain_pki.leaf_pem + chain_pki.intermediate_pem
    if tab == 1:
        expected += chain_pki.root_pem
    assert target.read_text() == expected
    assert target.read_text() == chain_pem(view.chain(tab))
    count = 2 + tab
    assert view.exportResult.text() == f"Saved {count} certificates to chain.pem"


def test_without_verification_the_verified_tab_says_why_it_is_empty(
    tls_tab: Any, chain_pki: ChainPki, s_server: Any
) -> None:
    view = secured(tls_tab, chain_pki, s_server, verify=False)
    assert view.lists[0].count() == 2 and view.lists[1].count() == 0
    view.chainTabs.setCurrentIndex(1)
    assert not view.emptyNote.isHidden() and "verification was off" in view.emptyNote.text()
    assert not view.exportChainAction.isEnabled() and not view.copyPemButton.isEnabled()
    assert view.details.fields["subject"].text() == "—"


def test_validity_words_mark_expired_and_soon() -> None:
    import datetime as dt

    cert = certificate_info(der(_any_pem()))
    after = dt.datetime.strptime(cert.not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert validity_words(cert, after + dt.timedelta(days=3, hours=1)) == (
        "expired 3 days ago",
        "expired",
    )
    assert validity_words(cert, after - dt.timedelta(days=29, hours=1)) == ("29 days left", "soon")
    assert validity_words(cert, after - dt.timedelta(days=30, hours=1)) == ("30 days left", "")
    before = dt.datetime.strptime(cert.not_before, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert validity_words(cert, before - dt.timedelta(days=1)) == ("not valid yet", "expired")


def _any_pem() -> str:
    import trustme

    return trustme.CA().cert_pem.bytes().decode()


def test_certificate_pem_is_openssl_s_pem(chain_pki: ChainPki) -> None:
    cert = certificate_info(der(chain_pki.intermediate_pem))
    assert certificate_pem(cert) == chain_pki.intermediate_pem
