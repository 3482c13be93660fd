"""Settings and the persistent sockets of a session.

One JSON file, ``settings.json``, in the per-user config directory (redirect it with
``SOCKET_WORKBENCH_CONFIG_DIR``): window geometry and state, recent peers, view preferences,
the theme, the persistent sockets to restore at the next start (name, options, peer, TLS
settings), the persistent listening sockets with their rules (``settings_servers``) and the
persistent UDP sockets with their bind and multicast settings (``settings_udp``). A missing
file means defaults; a corrupt one means defaults and a message (the bad file is kept
beside as ``settings.json.broken``); a directory we cannot write to means a message, never a
crash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from workbench.core.formatting import format_endpoint
from workbench.core.options import OPTIONS, OptionArgs
from workbench.core.starttls import check_protocol
from workbench.core.types import SecureOptions, SocketProperties, TLSVersionConstraints
from workbench.session.registry import DEFAULT_CAPTURE_LIMIT
from workbench.session.settings_servers import PersistedServer, entry_label
from workbench.session.settings_udp import PersistedUdp

__all__ = [
    "ENV_CONFIG_DIR",
    "THEMES",
    "PersistedServer",
    "PersistedSocket",
    "PersistedUdp",
    "Settings",
    "SettingsStore",
    "default_config_dir",
    "secure_from_json",
    "secure_to_json",
]

ENV_CONFIG_DIR = "SOCKET_WORKBENCH_CONFIG_DIR"
FILE_NAME = "settings.json"
THEMES = ("system", "light", "dark")
MAX_RECENT_PEERS = 20
FORMAT = 1

_log = logging.getLogger("workbench.session")


def default_config_dir() -> Path:
    """``$SOCKET_WORKBENCH_CONFIG_DIR``, else the per-user config dir + ``socket-workbench``:
    where Qt's ``QStandardPaths.GenericConfigLocation`` puts it (``$XDG_CONFIG_HOME`` or
    ``~/.config`` on Linux, ``~/Library/Preferences`` on macOS, ``%LOCALAPPDATA%`` on
    Windows), found without Qt so that scripts and the headless runner share the file."""
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Preferences")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "socket-workbench"


def secure_to_json(options: SecureOptions | None) -> dict[str, Any] | None:
    if options is None:
        return None
    versions = options.tls_version
    return {
        "min": versions.min if versions else None,
        "max": versions.max if versions else None,
        "caFile": options.ca_file,
        "verify": options.verify,
        "serverName": options.server_name,
        "clientCert": options.client_cert,
        "clientKey": options.client_key,
        "alpn": list(options.alpn) if options.alpn is not None else None,
        "resume": options.resume,
    }


def secure_from_json(data: Any) -> SecureOptions | None:
    if not isinstance(data, dict):
        return None
    versions = None
    if data.get("min") or data.get("max"):
        versions = TLSVersionConstraints(min=_str(data.get("min")), max=_str(data.get("max")))
    cert = _str(data.get("clientCert"))
    alpn = data.get("alpn")
    return SecureOptions(
        tls_version=versions,
        ca_file=_str(data.get("caFile")),
        verify=bool(data.get("verify", True)),
        server_name=_str(data.get("serverName")),
        client_cert=cert,
        client_key=_str(data.get("clientKey")) if cert else None,
        # A list of names, checked by SecureOptions: a bad one makes the entry bad, not dropped.
        alpn=tuple(alpn) if isinstance(alpn, list) else alpn,
        resume=data.get("resume", False),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclasses.dataclass
class PersistedSocket:
    """One persistent socket as the session file keeps it."""

    name: str | None = None
    buffer_size: int | None = None
    host: str | None = None
    port: int | None = None
    dns: str = "any"
    secure: dict[str, Any] | None = None  # secure_to_json form
    was_secure: bool = False
    #: the STARTTLS preset Secure runs first (``SocketIntent.starttls``); None, or no such key
    #: (files written before it): a plain ``secure()``.
    starttls: str | None = None
    #: socket options by ``workbench.core.options`` name: their arguments as JSON lists
    #: (``{"keep_alive": [true, 45], "no_delay": [false]}``), checked when they are restored.
    options: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    user_paused: bool = False
    #: the built-in server kind ("echo", "tls-echo", …) the peer was: its port changes at every
    #: start, so a restored socket is re-pointed at that server's current port.
    server: str | None = None
    #: the JSON object the entry was read from: written back untouched when the entry cannot
    #: be restored (issue 8, item 3: "each bad entry is skipped ... and kept in the file").
    raw: dict[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)

    def label(self) -> str:
        """How messages name the entry: its name and its peer (``'web' (example.test:443)``),
        or whichever of them it has. A character that cannot be shown (a NUL) is escaped."""
        return entry_label(self.name, self.host, self.port)

    def problem(self) -> str | None:
        """Why the core would refuse to restore this entry, or ``None``: the checks of
        ``create()``, ``connect()``, ``secure()`` and the option calls run here, before
        anything is created. A bad option makes the entry bad too: restored without it, the
        socket would be saved back without it, and the entry would not be "kept in the file
        untouched" (issue 8, item 3)."""
        try:
            SocketProperties(name=self.name, persistent=True, buffer_size=self.buffer_size)
            if self.host is not None and "\x00" in self.host:
                raise ValueError("the host must not contain a NUL character")
            secure_from_json(self.secure)
            if self.starttls is not None:
                check_protocol(self.starttls)
            self.checked_options()
        except (TypeError, ValueError) as exc:
            return str(exc)
        return None

    def checked_options(self) -> dict[str, OptionArgs]:
        """The options as the core's option calls take them; ``ValueError`` or ``TypeError``,
        naming the option and its arguments as the file has them, for the first that does
        not check."""
        options = {}
        for name, args in self.options.items():
            spec = OPTIONS.get(name)
            if spec is None:
                raise ValueError(f"no such option {name!r}; one of {', '.join(OPTIONS)}")
            try:
                options[name] = spec.check(args)
            except (TypeError, ValueError) as exc:
                shown = json.dumps(args, ensure_ascii=False, default=repr)
                raise type(exc)(f"option {name} {shown}: {exc}") from exc
        return options

    def skip_message(self, problem: str) -> str:
        """What the user is told about an entry that is not restored."""
        return (
            f"The persistent socket {self.label()} cannot be restored ({problem}); "
            "it is kept in the settings file as it is."
        )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["raw"]
        return data

    @classmethod
    def from_json(cls, data: Any) -> PersistedSocket | None:
        if not isinstance(data, dict):
            return None
        port = data.get("port")
        buffer_size = data.get("buffer_size")
        return cls(
            name=_str(data.get("name")),
            buffer_size=buffer_size if isinstance(buffer_size, int) and buffer_size > 0 else None,
            host=_str(data.get("host")),
            port=port if isinstance(port, int) and 0 < port < 65536 else None,
            dns=str(data["dns"]) if data.get("dns") in ("any", "ipv4", "ipv6") else "any",
            secure=data.get("secure") if isinstance(data.get("secure"), dict) else None,
            was_secure=bool(data.get("was_secure", False)),
            starttls=_preset(data.get("starttls")),
            options=_options(data),
            user_paused=bool(data.get("user_paused", False)),
            server=_str(data.get("server")),
            raw=data,
        )


def _preset(value: Any) -> str | None:
    """The ``starttls`` value as read: null (or missing) is none; a name is kept as it is, and
    anything else as its JSON text, for ``problem()`` to refuse (a preset this version does
    not know makes the entry bad: restored without it, Secure would run another exchange)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=repr)


def _options(data: dict[str, Any]) -> dict[str, list[Any]]:
    """The ``options`` table; files written before it kept ``keep_alive: [on, delay]`` and
    ``no_delay: bool`` at the top level, read the same way."""
    found = data.get("options")
    options = (
        {str(k): v for k, v in found.items() if isinstance(v, list)}
        if isinstance(found, dict)
        else {}
    )
    if isinstance(data.get("keep_alive"), list):
        options.setdefault("keep_alive", data["keep_alive"])
    if "no_delay" in data and data["no_delay"] is not None:
        options.setdefault("no_delay", [data["no_delay"]])
    return options


@dataclasses.dataclass
class Settings:
    geometry: str = ""  # base64 of QMainWindow.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState()
    splitters: dict[str, str] = dataclasses.field(default_factory=dict)
    recent_peers: list[str] = dataclasses.field(default_factory=list)
    view: dict[str, str] = dataclasses.field(default_factory=dict)
    theme: str = "system"
    first_start_done: bool = False
    #: ask before closing sockets whose capture holds data (a "don't ask again" box turns it off)
    confirm_close: bool = True
    sockets: list[PersistedSocket] = dataclasses.field(default_factory=list)
    #: bytes recorded per socket capture (both directions); past it bytes are only counted.
    capture_limit: int = DEFAULT_CAPTURE_LIMIT
    #: the entries of the file's ``sockets`` that cannot be restored, as they were read: written
    #: back after ``sockets`` at every save, so that a bad entry is never lost.
    kept_sockets: list[Any] = dataclasses.field(default_factory=list)
    #: the persistent listening sockets, with their rules.
    servers: list[PersistedServer] = dataclasses.field(default_factory=list)
    #: the entries of the file's ``servers`` that cannot be restored, as they were read:
    #: written back after ``servers``, as ``kept_sockets`` are.
    kept_servers: list[Any] = dataclasses.field(default_factory=list)
    #: the persistent UDP sockets (``settings_udp``).
    udp: list[PersistedUdp] = dataclasses.field(default_factory=list)
    #: the global TLS key log (``TcpSockets.keylog_file``): every TLS context the program
    #: makes writes its keys there; None: off. ``SSLKEYLOGFILE`` overrides it for one run
    #: without being written here.
    keylog_file: str | None = None
    #: the entries of the file's ``udp`` that cannot be restored, as they were read: written
    #: back after ``udp``, as ``kept_sockets`` are.
    kept_udp: list[Any] = dataclasses.field(default_factory=list)
    #: what was wrong with the file, one message each (not saved): ``SettingsStore.load``
    #: returns them for the window to show.
    problems: list[str] = dataclasses.field(default_factory=list, compare=False)

    def add_recent_peer(self, host: str, port: int) -> None:
        entry = format_endpoint(host, port)
        peers = [p for p in self.recent_peers if p != entry]
        self.recent_peers = [entry, *peers][:MAX_RECENT_PEERS]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["sockets"] = [s.to_json() for s in self.sockets] + list(self.kept_sockets)
        data["servers"] = [s.to_json() for s in self.servers] + list(self.kept_servers)
        data["udp"] = [s.to_json() for s in self.udp] + list(self.kept_udp)
        del data["kept_sockets"], data["kept_servers"], data["kept_udp"], data["problems"]
        data["format"] = FORMAT
        return data

    @classmethod
    def from_json(cls, data: Any) -> Settings:
        if not isinstance(data, dict):
            raise ValueError("the file does not hold a JSON object")
        s = cls()
        if isinstance(data.get("geometry"), str):
            s.geometry = data["geometry"]
        if isinstance(data.get("window_state"), str):
            s.window_state = data["window_state"]
        if isinstance(data.get("splitters"), dict):
            s.splitters = {str(k): v for k, v in data["splitters"].items() if isinstance(v, str)}
        if isinstance(data.get("recent_peers"), list):
            s.recent_peers = [p for p in data["recent_peers"] if isinstance(p, str)][
                :MAX_RECENT_PEERS
            ]
        if isinstance(data.get("view"), dict):
            s.view = {str(k): v for k, v in data["view"].items() if isinstance(v, str)}
        if data.get("theme") in THEMES:
            s.theme = data["theme"]
        s.first_start_done = bool(data.get("first_start_done", False))
        s.confirm_close = data.get("confirm_close") is not False
        limit = data.get("capture_limit")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            s.capture_limit = limit
        s.read_keylog(data.get("keylog_file"))
        if isinstance(data.get("sockets"), list):
            s.read_sockets(data["sockets"])
        if isinstance(data.get("servers"), list):
            s.read_servers(data["servers"])
        if isinstance(data.get("udp"), list):
            s.read_udp(data["udp"])
        return s

    def read_keylog(self, value: Any) -> None:
        """The global key log's path; anything else than a path (or null) is skipped, with a
        message, and the option stays off."""
        if value is None:
            return
        if isinstance(value, str) and value and "\x00" not in value:
            self.keylog_file = value
            return
        shown = json.dumps(value, ensure_ascii=False, default=repr)
        self.problems.append(
            f"The TLS key log file in the settings ({shown}) is not a path; "
            "the global key log stays off."
        )

    def read_sockets(self, entries: list[Any]) -> None:
        """The entries that can be restored into ``sockets``; the others, untouched, into
        ``kept_sockets``, each with a message that names it. What is not a JSON object is
        no socket at all and is dropped, as values of the wrong type are everywhere else."""
        for data in entries:
            entry = PersistedSocket.from_json(data)
            if entry is None:
                continue
            problem = entry.problem()
            if problem is None:
                self.sockets.append(entry)
                continue
            self.kept_sockets.append(data)
            self.problems.append(entry.skip_message(problem))

    def read_servers(self, entries: list[Any]) -> None:
        """``read_sockets`` for the persistent listening sockets: ``servers`` and
        ``kept_servers``."""
        for data in entries:
            entry = PersistedServer.from_json(data)
            if entry is None:
                continue
            problem = entry.problem()
            if problem is None:
                self.servers.append(entry)
                continue
            self.kept_servers.append(data)
            self.problems.append(entry.skip_message(problem))

    def read_udp(self, entries: list[Any]) -> None:
        """``read_sockets`` for the persistent UDP sockets: ``udp`` and ``kept_udp``."""
        for data in entries:
            entry = PersistedUdp.from_json(data)
            if entry is None:
                continue
            problem = entry.problem()
            if problem is None:
                self.udp.append(entry)
                continue
            self.kept_udp.append(data)
            self.problems.append(entry.skip_message(problem))


class SettingsStore:
    """Reads and writes ``settings.json`` in one directory; never raises for I/O problems."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_config_dir()
        self.path = self.directory / FILE_NAME
        #: ``load`` told the user the directory is read-only: a failed save is then only
        #: logged, not said again to a window that is closing (issue 8, item 24).
        self.read_only_said = False

    def __repr__(self) -> str:
        return f"<SettingsStore {self.path}>"

    def load(self) -> tuple[Settings, str | None]:
        """The settings and, when something was wrong, a message for the user (said once, at
        start: a directory we cannot write to is found here, not at the save on quit).
        Temporary files that a killed save left behind are removed first."""
        self.remove_stale_temporaries()
        settings, message = self._read()
        self.read_only_said = not self.writable()
        if self.read_only_said:
            read_only = (
                f"The settings directory {self.directory} is read-only: changes to "
                "the settings will not be saved."
            )
            message = f"{message} {read_only}" if message else read_only
        return settings, message

    def writable(self) -> bool:
        """Whether a save can write here: a file is created and removed in the directory
        (the mode bits alone would lie to root and on read-only mounts); a directory that
        does not exist yet counts when its nearest existing parent is writable."""
        if not self.directory.is_dir():
            parent = next((p for p in self.directory.parents if p.is_dir()), None)
            return parent is not None and os.access(parent, os.W_OK)
        try:
            with tempfile.NamedTemporaryFile(prefix=".settings-probe-", dir=self.directory):
                pass
        except OSError:
            return False
        return True

    def _read(self) -> tuple[Settings, str | None]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings(), None
        except UnicodeDecodeError as exc:  # not text: damaged, like bad JSON
            return Settings(), self._keep_damaged(exc)
        except OSError as exc:
            return Settings(), f"Could not read the settings ({self.path}: {exc}); using defaults."
        try:
            settings = Settings.from_json(json.loads(raw))
        except (ValueError, TypeError) as exc:
            return Settings(), self._keep_damaged(exc)
        return settings, " ".join(settings.problems) or None

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete ``.settings-*.json`` left by a save that was killed before its rename (a
        save in progress is in this process, and loading comes before any save)."""
        removed = []
        for stale in self.directory.glob(".settings-*.json"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed.append(stale)
        return removed

    def _keep_damaged(self, exc: Exception) -> str:
        """Move the damaged file aside as ``settings.json.broken`` (a save would overwrite
        it), and say so."""
        kept = self.path.with_name(FILE_NAME + ".broken")
        try:
            os.replace(self.path, kept)
            where = f"the file was kept as {kept}"
        except OSError:
            where = "the file was left as it is"
        return f"The settings file {self.path} is damaged ({exc}); using defaults, {where}."

    def save(self, settings: Settings) -> str | None:
        """Write atomically; a message when that is not possible, unless ``load`` already
        said that the directory is read-only."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=self.directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(settings.to_json(), f, indent=2, ensure_ascii=False)
                    f.write("\n")
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            message = f"Could not save the settings to {self.directory}: {exc.strerror or exc}."
            if self.read_only_said:
                _log.info("%s (said at start)", message)
                return None
            return message
        return None
