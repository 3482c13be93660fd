"""workbench/ui/self_test.py's collation step: QCollator orders, and the table sorted by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCollator, QLocale

import pytest

from workbench.ui.self_test import (
    COLLATION_CASES,
    SelfTest,
    SelfTestError,
    check_collation,
    collated,
)
from workbench.ui.socket_model import Column


def test_collation_orders_differ_from_code_point_order() -> None:
    # Otherwise the step could not tell ICU's collation from its absence.
    for _locale, words, expected in COLLATION_CASES:
        assert sorted(words) != list(expected)
    # ... and the Swedish order from the root collation's.
    _sv, words, expected = COLLATION_CASES[1]
    assert collated(words, QCollator(QLocale("en_US"))) != list(expected)


def test_check_collation_passes_with_icu() -> None:
    assert check_collation() == [
        "collation (en_US): a < ä < B < c",
        "collation (sv_SE): a < Z < ä",
    ]


def test_check_collation_fails_on_code_point_order() -> None:
    # The C locale's QCollator compares code points, as one without its ICU data does.
    with pytest.raises(SelfTestError, match=r"collation \(en_US\): B < a < c < ä"):
        check_collation(lambda _name: QCollator(QLocale.c()))


def test_collated_uses_the_collator() -> None:
    assert collated(["b", "ä", "a"], QCollator(QLocale("de_DE"))) == ["a", "ä", "b"]
    assert collated(["b", "ä", "a"], QCollator(QLocale("sv_SE"))) == ["a", "b", "ä"]


def test_sort_by_name_names_the_sockets_and_sorts_back_by_id(
    workbench_window: Any, aio: Callable[..., Any]
) -> None:
    said: list[str] = []
    step = SelfTest(workbench_window, said.append)
    first = aio(step.new_socket())
    second = aio(step.new_socket())
    aio(step.sort_by_name({first: "B-echo", second: "a-tls"}))
    assert said == ["socket table sorted by name: a-tls, B-echo"]
    session = workbench_window.session
    assert [session.info(sid).name for sid in (first, second)] == ["B-echo", "a-tls"]
    header = workbench_window.table.horizontalHeader()
    assert header.sortIndicatorSection() == Column.ID
