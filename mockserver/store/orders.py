"""The orders of one store, by id: the one collection that grows with traffic.

A million purchases make a million orders. Held as :class:`~.models.Order` objects they
cost ~375 bytes and 3 objects the cyclic garbage collector tracks, each: every full
collection walked them all (0.1 s per 100,000 orders on a quiet machine), and the p99 of
purchases grew with their number. Here each order is a plain tuple of strings, a date
and a tuple of plain line tuples: ~200 bytes, and untracked by the collector (CPython
untracks exact tuples that hold no container), so a collection's cost no longer depends
on how many purchases were made. An :class:`~.models.Order` is built when one is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from datetime import datetime
from typing import TypeVar

from .models import Order, OrderLine

__all__ = ["Orders"]

_V = TypeVar("_V")
_Line = tuple[str, str, int]  # ticket_id, name, quantity
_Row = tuple[str, "str | None", datetime, tuple[_Line, ...]]  # event, participant, created, lines


class Orders(MutableMapping[str, Order]):
    """``{order id: Order}``, stored compactly (see the module's docstring).

    >>> orders = Orders()
    >>> orders.add("o1", "e1", None, datetime(2024, 1, 1), (("t1", "VIP", 2),))
    >>> orders["o1"].lines[0].quantity
    2
    """

    __slots__ = ("_rows", "_shared")

    def __init__(self, orders: Iterable[Order] = ()) -> None:
        self._rows: dict[str, _Row] = {}
        # Equal values stored once: lines bought again, dates of the same millisecond.
        self._shared: dict[object, object] = {}
        for order in orders:
            self[order.id] = order

    def add(
        self,
        order_id: str,
        event_id: str,
        participant_id: str | None,
        created: datetime,
        lines: tuple[_Line, ...],
    ) -> None:
        """Store one order from its parts (what a purchase makes; no Order object)."""
        self._rows[order_id] = (event_id, participant_id, self._share(created),
                                self._share(lines))  # fmt: skip

    def _share(self, value: _V) -> _V:
        held = self._shared.setdefault(value, value)
        if len(self._shared) > 4096:  # a bounded cache, not a second index of the orders
            self._shared.clear()
        return held  # type: ignore[return-value]

    def __getitem__(self, order_id: str) -> Order:
        event_id, participant_id, created, lines = self._rows[order_id]
        return Order(order_id, event_id, participant_id, created,
                     tuple(OrderLine(*line) for line in lines))  # fmt: skip

    def __setitem__(self, order_id: str, order: Order) -> None:
        lines = tuple((x.ticket_id, x.name, x.quantity) for x in order.lines)
        self.add(order_id, order.event_id, order.participant_id, order.created, lines)

    def __delitem__(self, order_id: str) -> None:
        del self._rows[order_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._rows
