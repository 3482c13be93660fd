"""Rules to and from plain JSON-able dicts, for saving them with their server.

The form (``FORMAT_VERSION`` 1)::

    {"version": 1,
     "framing": {"kind": "line", "length": 0, "max_line": 65536},
     "rules": [{"name": "ping", "trigger": "frame",
                "match": {"kind": "regex", "pattern": "(?i)\\\\Aping\\\\Z", "encoding": "UTF-8"},
                "reply": {"mode": "Text", "template": "+PONG", "encoding": "UTF-8",
                          "line_ending": "CRLF"},
                "delay_ms": 0, "then": "nothing", "continue_matching": false,
                "from_frame": 1, "enabled": true}]}

Every field may be left out (its default is used); an unknown field is an error, so that a
typo is not silently dropped. Hit counts and faults are live state and are not saved.

Loading checks each rule as the window does before saving (``check_rule``). A bad entry is
left out of the rule set and reported as a :class:`LoadProblem` that names it and keeps the
entry as saved (``raw``), so the caller can show it and write it back rather than lose it;
the other rules load. A bad framing falls back to the default (chunks) and is reported too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from workbench.core.rules import (
    FrameKind,
    Framing,
    Match,
    MatchKind,
    Reply,
    Rule,
    RuleError,
    RuleSet,
    Then,
    Trigger,
    check_rule,
)
from workbench.core.rules_frame import check_framing

__all__ = [
    "FORMAT_VERSION",
    "LoadProblem",
    "LoadResult",
    "rule_from_dict",
    "rule_to_dict",
    "ruleset_from_dict",
    "ruleset_to_dict",
]

FORMAT_VERSION = 1

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class LoadProblem:
    """The saved entry ``raw`` (rule ``index``, 0-based; ``None``: the framing or the file
    itself) could not be loaded because of ``error``, which names the rule."""

    index: int | None
    error: RuleError
    raw: object

    def __str__(self) -> str:
        what = "left out" if self.index is not None else "not used"
        return f"{self.error} ({what})"


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """The rules that loaded, and a :class:`LoadProblem` per entry that did not."""

    ruleset: RuleSet
    problems: tuple[LoadProblem, ...] = ()


def _plain(value: object) -> object:
    return value.value if isinstance(value, FrameKind | MatchKind | Trigger | Then) else value


def _fields(obj: object) -> dict[str, object]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def rule_to_dict(rule: Rule) -> dict[str, object]:
    data = _fields(rule)
    data["match"] = _fields(rule.match)
    data["reply"] = _fields(rule.reply)
    return data


def ruleset_to_dict(ruleset: RuleSet) -> dict[str, object]:
    return {
        "version": FORMAT_VERSION,
        "framing": _fields(ruleset.framing),
        "rules": [rule_to_dict(rule) for rule in ruleset.rules],
    }


def _mapping(data: object, field: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise RuleError(f"must be an object, not {type(data).__name__}", field=field)
    return data


def _build(cls: type[_T], data: object, where: str, **nested: object) -> _T:
    """``cls`` from the saved ``data``: known fields only, each of its default's type (the
    enums from their values); ``nested`` objects are already built. ``where`` names the
    object in errors (``""``: the rule itself)."""
    saved = _mapping(data, where or "rule")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(saved) - names)
    if unknown:
        raise RuleError(f"unknown field {unknown[0]!r}", field=where or "rule")
    values: dict[str, object] = dict(nested)
    for name, value in saved.items():
        if name in nested:
            continue
        label = f"{where} {name}".strip()
        default = getattr(cls(), name)
        if isinstance(default, FrameKind | MatchKind | Trigger | Then):
            values[name] = _enum_value(type(default), value, label)
        elif type(value) is type(default):
            values[name] = value
        else:
            wanted = {bool: "true or false", int: "a whole number", str: "text"}
            raise RuleError(
                f"must be {wanted.get(type(default), type(default).__name__)}, not {value!r}",
                field=label,
            )
    return cls(**values)


def _enum_value(kind: type[StrEnum], value: object, label: str) -> StrEnum:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    known = ", ".join(member.value for member in kind)
    raise RuleError(f"unknown {label} {value!r} (known: {known})", field=label)


def rule_from_dict(data: object) -> Rule:
    """The rule saved as ``data``, checked; raises :class:`RuleError` (without the rule's
    index: :func:`ruleset_from_dict` adds it)."""
    saved = _mapping(data, "rule")
    match = _build(Match, saved.get("match", {}), "match")
    reply = _build(Reply, saved.get("reply", {}), "reply")
    rule = _build(Rule, saved, "", match=match, reply=reply)
    check_rule(rule)
    return rule


def _framing_from(data: object) -> Framing:
    framing = _build(Framing, data, "framing")
    check_framing(framing)
    return framing


def ruleset_from_dict(data: object) -> LoadResult:
    """The rule set saved as ``data``; never raises (see the module docstring)."""
    problems: list[LoadProblem] = []
    try:
        saved = _mapping(data, "rules file")
        version = saved.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise RuleError(
                f"unknown version {version!r} (known: {FORMAT_VERSION})", field="rules file"
            )
        entries = saved.get("rules", [])
        if not isinstance(entries, list):
            raise RuleError(
                f"'rules' must be a list, not {type(entries).__name__}", field="rules file"
            )
    except RuleError as exc:
        return LoadResult(RuleSet(), (LoadProblem(None, exc, data),))
    framing = Framing()
    try:
        framing = _framing_from(saved.get("framing", {}))
    except RuleError as exc:
        problems.append(LoadProblem(None, exc, saved.get("framing")))
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(rule_from_dict(entry))
        except RuleError as exc:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            named = exc.in_rule(index, name if isinstance(name, str) else "")
            problems.append(LoadProblem(index, named, entry))
    return LoadResult(RuleSet(framing=framing, rules=tuple(rules)), tuple(problems))
