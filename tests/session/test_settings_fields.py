"""workbench.session.settings_fields: a saved entry read field by field against its table."""

from __future__ import annotations

import dataclasses

from workbench.session.settings_fields import Fields, read_fields

FIELDS: Fields = {
    "name": ((str, type(None)), "text or null"),
    "port": ((int, type(None)), "a whole number or null"),
    "paused": ((bool,), "true or false"),
    "groups": ((list,), "a list"),
}


@dataclasses.dataclass
class Entry:
    name: str | None = None
    port: int | None = 7
    paused: bool = False
    groups: list[str] = dataclasses.field(default_factory=list)


def test_good_values_are_taken_and_lists_copied() -> None:
    entry = Entry()
    groups = ["239.0.0.1"]
    data = {"name": "web", "port": None, "paused": True, "groups": groups, "other": 1}
    assert read_fields(entry, data, FIELDS) is None
    assert entry == Entry("web", None, True, ["239.0.0.1"])
    groups.append("changed")
    assert entry.groups == ["239.0.0.1"]  # a copy: the caller's list is not shared


def test_the_first_wrong_value_is_named_and_its_field_keeps_its_default() -> None:
    entry = Entry()
    data = {"port": "80", "paused": 1, "name": "ok"}
    assert read_fields(entry, data, FIELDS) == 'port must be a whole number or null, not "80"'
    assert (entry.port, entry.paused, entry.name) == (7, False, "ok")


def test_true_is_not_a_number_where_only_numbers_are_taken() -> None:
    entry = Entry()
    assert read_fields(entry, {"port": True}, FIELDS) == (
        "port must be a whole number or null, not true"
    )
    assert entry.port == 7
