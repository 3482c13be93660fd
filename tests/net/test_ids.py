"""workbench.net.ids: the id table the three socket APIs share."""

from __future__ import annotations

import pytest

from workbench.core.errors import SocketNotFoundError
from workbench.net.ids import IdTable


def test_ids_count_from_one_and_are_never_reused() -> None:
    table: IdTable[str] = IdTable()
    first = table.take_id()
    table.add(first, "a")
    second = table.take_id()  # taken, never added (an adoption that failed)
    third = table.take_id()
    table.add(third, "c")
    assert (first, second, third) == (1, 2, 3)
    table.remove(first)
    assert table.take_id() == 4
    assert table.ids() == [3] and table.in_order() == ["c"] and len(table) == 1
    assert 3 in table and 1 not in table and list(table) == [3]
    assert repr(table) == "[3]"


def test_a_missing_id_is_socket_not_found_and_a_non_int_the_caller_s_error() -> None:
    table: IdTable[str] = IdTable()
    table.add(table.take_id(), "a")
    assert table.get(1) == "a" and table.find(1) == "a" and table.find(2) is None
    with pytest.raises(SocketNotFoundError):
        table.get(2)
    with pytest.raises(SocketNotFoundError):
        table.get(0)  # an int, but no socket has it
    with pytest.raises(TypeError):
        table.get("1")


def test_in_order_is_ascending_whatever_the_order_of_adding() -> None:
    table: IdTable[int] = IdTable()
    ids = [table.take_id() for _ in range(5)]
    for sid in reversed(ids):
        table.add(sid, sid * 10)
    assert table.in_order() == [10, 20, 30, 40, 50]
