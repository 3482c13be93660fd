"""Settings, sessions and themes: defaults on a bad day, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.session.settings import (
    ENV_CONFIG_DIR,
    PersistedServer,
    PersistedSocket,
    Settings,
    SettingsStore,
    default_config_dir,
    secure_from_json,
    secure_to_json,
)
from workbench.sockets import SecureOptions, TLSVersionConstraints


def test_config_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_CONFIG_DIR, str(tmp_path / "here"))
    assert default_config_dir() == tmp_path / "here"
    assert SettingsStore().directory == tmp_path / "here"


def test_default_config_dir_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    path = default_config_dir()
    assert path.name == "socket-workbench"
    assert path.is_absolute()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_dir() == tmp_path / "socket-workbench"


def test_default_config_dir_is_where_qt_puts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QStandardPaths

    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    location = QStandardPaths.StandardLocation.GenericConfigLocation
    assert default_config_dir() == Path(QStandardPaths.writableLocation(location)) / (
        "socket-workbench"
    )


def test_missing_file_means_defaults_and_no_message(tmp_path: Path) -> None:
    settings, message = SettingsStore(tmp_path / "nothing").load()
    assert settings == Settings()
    assert message is None


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "cfg")
    settings = Settings(theme="dark", view={"viewMode": "Text"}, first_start_done=True)
    settings.add_recent_peer("localhost", 7)
    settings.add_recent_peer("::1", 443)
    settings.add_recent_peer("localhost", 7)
    settings.sockets.append(
        PersistedSocket(
            name="db",
            buffer_size=1024,
            host="127.0.0.1",
            port=5432,
            dns="ipv4",
            secure=secure_to_json(SecureOptions(ca_file="/ca.pem", verify=False)),
            was_secure=True,
            options={"keep_alive": [True, 30], "no_delay": [False]},
            user_paused=True,
        )
    )
    settings.servers.append(
        PersistedServer(
            name="smtp",
            address="::1",
            port=2525,
            backlog=4,
            read_at_once=False,
            paused=True,
            rules={"version": 1, "rules": [{"name": "greet", "trigger": "open"}]},
        )
    )
    assert store.save(settings) is None
    loaded, message = store.load()
    assert message is None
    assert loaded == settings
    assert loaded.recent_peers == ["localhost:7", "[::1]:443"]


def test_corrupt_file_means_defaults_a_message_and_the_file_kept(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text("{ not json", encoding="utf-8")
    settings, message = store.load()
    assert settings == Settings()
    assert message is not None and "damaged" in message
    assert (tmp_path / "settings.json.broken").read_text(encoding="utf-8") == "{ not json"


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "\udcff"])
def test_wrong_shapes_are_not_fatal(tmp_path: Path, content: str) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_bytes(content.encode("utf-8", "surrogateescape"))
    settings, message = store.load()
    assert settings == Settings()
    assert message


def test_bad_values_inside_a_good_file_are_dropped(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(
        json.dumps(
            {
                "theme": "purple",
                "recent_peers": ["a:1", 5, None],
                "view": {"viewMode": 3},
                "sockets": [{"name": "ok", "port": 99999, "buffer_size": -3, "dns": "ipx"}, 7],
            }
        ),
        encoding="utf-8",
    )
    settings, message = store.load()
    assert message is None
    assert settings.theme == "system"
    assert settings.recent_peers == ["a:1"]
    assert settings.view == {}
    assert settings.sockets == [PersistedSocket(name="ok")]


def test_a_file_without_servers_has_none() -> None:
    settings = Settings.from_json({"sockets": []})
    assert settings.servers == [] and settings.kept_servers == []
    assert settings.to_json()["servers"] == []


def test_unwritable_location_gives_a_message(tmp_path: Path) -> None:
    # A file where the directory should be: fails for root too.
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    message = SettingsStore(blocker / "cfg").save(Settings())
    assert message is not None and "Could not save" in message


def test_secure_options_round_trip() -> None:
    options = SecureOptions(
        tls_version=TLSVersionConstraints(min="tls1.2", max="tls1.3"),
        ca_file="/ca.pem",
        verify=False,
        server_name="example.test",
        client_cert="/c.pem",
        client_key="/k.pem",
        alpn=("h2", "http/1.1"),
        resume=True,
    )
    assert secure_from_json(json.loads(json.dumps(secure_to_json(options)))) == options
    # A bad ALPN list is refused (the entry is bad), not dropped.
    with pytest.raises((TypeError, ValueError)):
        secure_from_json({"alpn": ["h2", 7]})
    assert secure_from_json(None) is None
    assert secure_from_json({"clientKey": "/k.pem"}) == SecureOptions()


def test_options_from_files_before_the_options_table_are_read() -> None:
    entry = PersistedSocket.from_json({"keep_alive": [True, 30], "no_delay": False})
    assert entry is not None
    assert entry.options == {"keep_alive": [True, 30], "no_delay": [False]}
    newer = PersistedSocket.from_json({"options": {"no_delay": [True]}, "no_delay": False})
    assert newer is not None and newer.options == {"no_delay": [True]}


def test_a_file_that_is_not_utf8_is_kept_aside_like_bad_json(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_bytes(b'{"theme": "dark\xff\xfe"}')
    settings, message = store.load()
    assert settings == Settings()
    assert message is not None and "damaged" in message
    broken = tmp_path / "settings.json.broken"
    assert broken.read_bytes() == b'{"theme": "dark\xff\xfe"}'
    # The next save writes defaults without losing the user's file.
    assert store.save(settings) is None
    assert broken.exists()


def test_temporaries_left_by_a_killed_save_are_removed_at_start(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    assert store.save(Settings(theme="dark")) is None
    litter = [tmp_path / ".settings-abc123.json", tmp_path / ".settings-xyz.json"]
    for path in litter:
        path.write_text("{half a file")
    settings, message = store.load()
    assert message is None and settings.theme == "dark"
    assert not any(path.exists() for path in litter)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_the_global_key_log_is_kept_and_a_bad_one_is_skipped_with_a_message() -> None:
    assert Settings().keylog_file is None
    kept = Settings.from_json({"keylog_file": "/tmp/every.keys"})
    assert kept.keylog_file == "/tmp/every.keys"
    assert Settings.from_json(kept.to_json()).keylog_file == "/tmp/every.keys"
    assert Settings.from_json({"keylog_file": None}).problems == []
    for bad in (42, "", ["a"], "a\x00b"):
        settings = Settings.from_json({"keylog_file": bad})
        assert settings.keylog_file is None
        assert len(settings.problems) == 1
        assert "TLS key log file" in settings.problems[0], bad
        assert "stays off" in settings.problems[0]
