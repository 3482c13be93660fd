"""Conversation files: a repeatable exchange with one peer, as TOML (``docs/conversations.md``).

A conversation names its peer (``host``, ``port``, optional ``[tls]``) and lists ``steps``,
each one verb: ``expect``, ``expect_regex``, ``expect_hex``, ``send``, ``send_hex``,
``starttls`` (TLS settings, or a protocol of ``STARTTLS_PROTOCOLS`` whose exchange runs
first), ``sleep`` or ``expect_closed``, with an optional ``timeout`` of its own. This
module reads and checks a file, without running anything: every error is found before a
connection is made, and names the file, the line where there is one, and the reason.

``${NAME}`` in any string is a variable: given by the caller (the command line's ``--var``),
or a named group an earlier ``expect_regex`` captured. A variable neither given nor captured
earlier is an error of the file. Top-level strings (``host``, ``[tls]``) can only use given
variables: nothing is captured before the connection.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.core.codecs import InputError, parse_escaped, parse_hex
from workbench.core.starttls import STARTTLS_PROTOCOLS
from workbench.core.types import DnsQueryType, SecureOptions, TLSVersionConstraints

__all__ = [
    "DEFAULT_TIMEOUT",
    "Conversation",
    "ConversationError",
    "ConversationErrors",
    "Step",
    "Verb",
    "load_conversation",
    "load_conversations",
    "parse_conversation",
    "secure_options",
    "send_bytes",
    "substitute",
]

#: Seconds each step may take unless the file or the step says otherwise.
DEFAULT_TIMEOUT = 5.0

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_TOP_KEYS = ("name", "host", "port", "timeout", "dns", "tls", "steps")
#: ``[tls]`` and ``starttls``: SecureOptions' fields, with tls_version's min and max flat.
_TLS_KEYS = (
    "ca_file",
    "verify",
    "server_name",
    "client_cert",
    "client_key",
    "min_version",
    "max_version",
)


class Verb(enum.StrEnum):
    """What a step does; each step has exactly one."""

    EXPECT = "expect"
    EXPECT_REGEX = "expect_regex"
    EXPECT_HEX = "expect_hex"
    SEND = "send"
    SEND_HEX = "send_hex"
    STARTTLS = "starttls"
    SLEEP = "sleep"
    EXPECT_CLOSED = "expect_closed"

    @property
    def expects(self) -> bool:
        """It consumes received bytes up to and including a match."""
        return self in (Verb.EXPECT, Verb.EXPECT_REGEX, Verb.EXPECT_HEX)


class ConversationError(ValueError):
    """A file that cannot run: its path, the line where there is one, and the reason."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class ConversationErrors(ValueError):
    """Several files were read and some cannot run: none of them runs."""

    def __init__(self, errors: Sequence[ConversationError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One step as the file wrote it: its index in ``steps`` (from 0), its verb and value
    (strings still hold their ``${NAME}``), its time-out in seconds, and its line."""

    index: int
    verb: Verb
    value: Any
    timeout: float
    line: int | None = None

    def label(self, width: int = 60) -> str:
        """``expect_regex '250[- ]STARTTLS'``: the verb and its value, as a report shows it."""
        value = self.value
        if isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, str):
            shown = value if len(value) <= width else value[: width - 1] + "…"
            shown = f"'{shown}'"
        elif isinstance(value, dict):
            shown = ", ".join(f"{k} = {v!r}" for k, v in value.items())
            shown = f"{{{shown}}}" if shown else ""
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{self.verb} {shown}".rstrip()


@dataclasses.dataclass(frozen=True, slots=True)
class Conversation:
    """A checked conversation file, ready to run."""

    path: str
    host: str
    port: int
    steps: tuple[Step, ...]
    name: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    dns: DnsQueryType = DnsQueryType.ANY
    tls: SecureOptions | None = None
    #: the variables the caller gave (captures join them while it runs).
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def title(self) -> str:
        """Its ``name``, else its file's name."""
        return self.name or Path(self.path).name


# -- variables ------------------------------------------------------------------------------


def variables_in(text: str) -> list[str]:
    """The names of the ``${NAME}`` variables ``text`` uses, in order."""
    return _VARIABLE.findall(text)


def substitute(text: str, variables: Mapping[str, str], *, regex: bool = False) -> str:
    """``text`` with each ``${NAME}`` replaced by its value (``re.escape``d when ``regex``:
    inside ``expect_regex`` a value is matched literally). ``KeyError`` for an unknown name."""
    if "${" not in text:
        return text

    def value(match: re.Match[str]) -> str:
        found = variables[match.group(1)]
        return re.escape(found) if regex else found

    return _VARIABLE.sub(value, text)


def send_bytes(step: Step, variables: Mapping[str, str]) -> bytes:
    """The bytes a ``send`` or ``send_hex`` step sends, its variables filled in.

    ``send`` reads the composer's Escaped mode; a variable's value goes in as its UTF-8
    bytes, never read as escapes (the pieces between variables are parsed on their own).
    ``send_hex`` reads hex after the values are filled in. ``InputError`` when it is bad."""
    text = str(step.value)
    if step.verb is Verb.SEND_HEX:
        return parse_hex(substitute(text, variables))
    out = bytearray()
    at = 0
    for match in _VARIABLE.finditer(text):
        out += parse_escaped(text[at : match.start()])
        out += variables[match.group(1)].encode()
        at = match.end()
    out += parse_escaped(text[at:])
    return bytes(out)


def secure_options(table: Mapping[str, Any], variables: Mapping[str, str]) -> SecureOptions:
    """``[tls]`` or a ``starttls`` table as ``SecureOptions`` (``ValueError``/``TypeError``
    for a bad value, ``KeyError`` for an unknown variable)."""
    values: dict[str, Any] = {
        key: substitute(value, variables) if isinstance(value, str) else value
        for key, value in table.items()
    }
    low, high = values.pop("min_version", None), values.pop("max_version", None)
    version = TLSVersionConstraints(min=low, max=high) if low or high else None
    return SecureOptions(tls_version=version, **values)


# -- reading a file -------------------------------------------------------------------------


def load_conversation(path: str | Path, variables: Mapping[str, str] | None = None) -> Conversation:
    """Read and check one file (``ConversationError`` when it cannot run)."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConversationError(shown, f"cannot read the file: {reason}") from exc
    return parse_conversation(text, shown, variables or {})


def load_conversations(
    paths: Iterable[str | Path], variables: Mapping[str, str] | None = None
) -> list[Conversation]:
    """Read and check every file; ``ConversationErrors`` naming each bad one if any is bad
    (then none runs)."""
    loaded: list[Conversation] = []
    errors: list[ConversationError] = []
    for path in paths:
        try:
            loaded.append(load_conversation(path, variables))
        except ConversationError as exc:
            errors.append(exc)
    if errors:
        raise ConversationErrors(errors)
    return loaded


def parse_conversation(
    text: str, path: str = "<conversation>", variables: Mapping[str, str] | None = None
) -> Conversation:
    """Check ``text`` as a conversation file named ``path``."""
    import tomllib  # on the first parse: the window starts with no conversation open

    given = dict(variables or {})
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_LINE.search(message)
        reason = "not valid TOML: " + _TOML_LINE.sub("", message).strip()
        raise ConversationError(path, reason, int(found.group(1)) if found else None) from exc
    return _Reader(text, path, given).read(doc)


class _Reader:
    """One file's checks, with its lines at hand for the errors."""

    def __init__(self, text: str, path: str, given: dict[str, str]) -> None:
        self.path = path
        self.given = given
        self.lines = text.splitlines()
        # The line of each [[steps]] header: step i's errors point into its table.
        self.step_lines = [
            n for n, line in enumerate(self.lines, 1) if line.strip().startswith("[[steps]]")
        ]

    def error(self, reason: str, line: int | None = None) -> ConversationError:
        return ConversationError(self.path, reason, line)

    def line_of(self, key: str, start: int = 1, stop: int | None = None) -> int | None:
        """The first line in [start, stop) that sets ``key`` (``key =`` or ``[key]``)."""
        pattern = re.compile(rf"^\s*(\[\s*{re.escape(key)}\s*\]|\"?{re.escape(key)}\"?\s*=)")
        end = len(self.lines) if stop is None else stop - 1
        for n in range(start, end + 1):
            if pattern.match(self.lines[n - 1]):
                return n
        return None

    def step_span(self, index: int) -> tuple[int | None, int | None]:
        if index >= len(self.step_lines):
            return None, None
        stop = self.step_lines[index + 1] if index + 1 < len(self.step_lines) else None
        return self.step_lines[index], stop

    def read(self, doc: dict[str, Any]) -> Conversation:
        for key in doc:
            if key not in _TOP_KEYS:
                known = ", ".join(_TOP_KEYS)
                raise self.error(f"unknown key {key!r} (known: {known})", self.line_of(key))
        host = self.top_string(doc, "host", required=True)
        port = doc.get("port")
        if port is None:
            raise self.error("'port' is required: the port to connect to")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise self.error(
                f"'port' must be a whole number from 1 to 65535, not {port!r}", self.line_of("port")
            )
        timeout = self.seconds(
            doc.get("timeout", DEFAULT_TIMEOUT), "timeout", self.line_of("timeout")
        )
        dns_text = doc.get("dns", "any")
        try:
            dns = DnsQueryType(dns_text)
        except ValueError:
            raise self.error(
                f"'dns' must be any, ipv4 or ipv6, not {dns_text!r}", self.line_of("dns")
            ) from None
        tls = self.tls_table(doc.get("tls"), "tls", self.line_of("tls"), self.given)
        steps = self.steps(doc.get("steps", []), timeout)
        name = self.top_string(doc, "name") or None
        return Conversation(
            path=self.path,
            host=host,
            port=port,
            steps=steps,
            name=name,
            timeout=timeout,
            dns=dns,
            tls=tls if tls is None else secure_options(tls, self.given),
            variables=dict(self.given),
        )

    def top_string(self, doc: Mapping[str, Any], key: str, *, required: bool = False) -> str:
        value = doc.get(key)
        if value is None:
            if required:
                raise self.error(f"'{key}' is required: the host to connect to")
            return ""
        line = self.line_of(key)
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.error(f"'{key}' must be a non-empty string, not {value!r}", line)
        self.check_variables(value, self.given, line)
        return substitute(value, self.given)

    def seconds(self, value: Any, what: str, line: int | None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"'{what}' must be a number of seconds, not {value!r}", line)
        if not (value > 0 and math.isfinite(value)):
            raise self.error(f"'{what}' must be more than 0 seconds, not {value!r}", line)
        return float(value)

    def check_variables(
        self, text: str, known: Mapping[str, str] | set[str], line: int | None
    ) -> None:
        for name in variables_in(text):
            if name not in known:
                # Both ways to give it: the message is read in the window and in a terminal.
                raise self.error(
                    f"variable ${{{name}}} is neither given ({name}=VALUE in Variables, or "
                    f"--var {name}=VALUE) nor captured by a named group of an earlier "
                    "expect_regex",
                    line,
                )

    def tls_table(
        self, table: Any, what: str, line: int | None, known: Mapping[str, str] | set[str]
    ) -> dict[str, Any] | None:
        if table is None:
            return None
        if not isinstance(table, dict):
            raise self.error(f"'{what}' must be a table of TLS settings, not {table!r}", line)
        for key, value in table.items():
            if key not in _TLS_KEYS:
                raise self.error(
                    f"unknown key {key!r} in {what} (known: {', '.join(_TLS_KEYS)})", line
                )
            if isinstance(value, str):
                self.check_variables(value, known, line)
        placeholder = {name: "x" for name in known}
        try:
            secure_options(table, placeholder)
        except (TypeError, ValueError) as exc:
            raise self.error(f"{what}: {exc}", line) from None
        return dict(table)

    def starttls(
        self, value: Any, where: str, line: int | None, known: set[str]
    ) -> str | dict[str, Any]:
        """``starttls = "smtp"`` (a preset's exchange, then TLS with default settings),
        ``starttls = { protocol = "smtp", ca_file = … }``, or a table of TLS settings alone
        (``secure()`` now)."""
        if isinstance(value, str):
            return self.protocol(value, where, line)
        if not isinstance(value, dict) or "protocol" not in value:
            return self.tls_table(value, where, line, known) or {}
        settings = {key: item for key, item in value.items() if key != "protocol"}
        checked = self.tls_table(settings, where, line, known) or {}
        return {"protocol": self.protocol(value["protocol"], where, line), **checked}

    def protocol(self, value: Any, where: str, line: int | None) -> str:
        if value not in STARTTLS_PROTOCOLS:
            raise self.error(
                f"{where}: unknown STARTTLS protocol {value!r} "
                f"(one of {', '.join(STARTTLS_PROTOCOLS)})",
                line,
            )
        return str(value)

    def steps(self, steps: Any, timeout: float) -> tuple[Step, ...]:
        if not isinstance(steps, list):
            raise self.error(
                "'steps' must be an array of tables ([[steps]])", self.line_of("steps")
            )
        known: set[str] = set(self.given)
        out = []
        for index, table in enumerate(steps):
            step = self.step(index, table, timeout, known)
            if step.verb is Verb.EXPECT_REGEX:
                known |= set(
                    re.compile(
                        substitute(step.value, {n: "x" for n in known}, regex=True)
                    ).groupindex
                )
            out.append(step)
        return tuple(out)

    def step(self, index: int, table: Any, timeout: float, known: set[str]) -> Step:
        start, stop = self.step_span(index)
        if not isinstance(table, dict):
            raise self.error(f"step {index} must be a table, not {table!r}", start)
        verbs = [key for key in table if key in Verb.__members__.values()]
        for key in table:
            if key != "timeout" and key not in verbs:
                line = self.line_of(key, start, stop) if start else None
                raise self.error(
                    f"step {index}: unknown key {key!r} (verbs: {', '.join(Verb)})", line or start
                )
        if len(verbs) != 1:
            what = "no verb" if not verbs else "two verbs (" + ", ".join(verbs) + ")"
            raise self.error(f"step {index} has {what}: each step does exactly one thing", start)
        verb = Verb(verbs[0])
        line = (self.line_of(verb.value, start, stop) if start else None) or start
        own = table.get("timeout")
        step_timeout = timeout if own is None else self.seconds(own, f"step {index} timeout", line)
        value = self.value(index, verb, table[verb.value], line, known)
        return Step(index, verb, value, step_timeout, line)

    def value(self, index: int, verb: Verb, value: Any, line: int | None, known: set[str]) -> Any:
        where = f"step {index} ({verb})"
        if verb is Verb.STARTTLS:
            return self.starttls(value, where, line, known)
        if verb is Verb.SLEEP:
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (0 <= value < math.inf)
            ):
                raise self.error(
                    f"{where}: must be a number of seconds (0 or more), not {value!r}", line
                )
            return float(value)
        if verb is Verb.EXPECT_CLOSED:
            if value is True or (
                isinstance(value, int) and not isinstance(value, bool) and value < 0
            ):
                return value
            raise self.error(
                f"{where}: must be true (any end) or a negative result code such as -100, "
                f"not {value!r}",
                line,
            )
        if not isinstance(value, str) or value == "":
            raise self.error(f"{where}: must be a non-empty string, not {value!r}", line)
        self.check_variables(value, known, line)
        self.check_text(where, verb, value, line, known)
        return value

    def check_text(
        self, where: str, verb: Verb, value: str, line: int | None, known: set[str]
    ) -> None:
        sample = {name: "x" for name in known}
        try:
            if verb is Verb.EXPECT_REGEX:
                re.compile(substitute(value, sample, regex=True))
            elif verb is Verb.EXPECT_HEX:
                parse_hex(value)
            elif verb is Verb.SEND:
                send_bytes(Step(0, verb, value, 0.0), sample)
            elif verb is Verb.SEND_HEX and not variables_in(value):
                parse_hex(value)
        except re.error as exc:
            raise self.error(f"{where}: not a valid regular expression: {exc}", line) from None
        except InputError as exc:
            raise self.error(f"{where}: {exc}", line) from None
