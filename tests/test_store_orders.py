"""The orders' collection: what a million purchases must not cost the garbage collector."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from mockserver.store.models import Order, OrderLine
from mockserver.store.orders import Orders

WHEN = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _order(i: int) -> Order:
    return Order(f"{i:024x}", "e" * 24, None, WHEN, (OrderLine("t" * 24, "VIP", 2),))


def test_the_dict_of_orders_stays_tracked_so_a_freeze_takes_it_out_of_collections() -> None:
    orders = Orders([_order(1)])
    gc.collect()  # a collection untracks a dict that holds nothing tracked
    assert gc.is_tracked(orders._rows)
    rows = orders._rows
    orders.reload([_order(2), _order(3)])  # a fixture load or a reset keeps the same dict
    assert orders._rows is rows
    assert gc.is_tracked(orders._rows)


def test_the_anchor_is_never_an_order() -> None:
    orders = Orders([_order(1)])
    orders.add("o2", "e1", "p1", WHEN, (("t1", "VIP", 1),))
    assert (len(orders), list(orders), "" in orders) == (2, [f"{1:024x}", "o2"], False)
    assert orders.get("") is None
    with pytest.raises(KeyError):
        del orders[""]
    assert orders["o2"] == Order("o2", "e1", "p1", WHEN, (OrderLine("t1", "VIP", 1),))
    orders.reload([])
    assert (len(orders), list(orders)) == (0, [])
