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
_ANCHOR = ""  # not an order id (see Orders.__init__)
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
        # The rows, and under the key "" (no order id) a list: a dict holding a tracked
        # object stays tracked, so the gc.freeze() that follows loading (goevent-mock
        # serve) moves this dict out of every later collection for good. Without it, the
        # collector untracks the dict, the next purchase's fresh row tuple tracks it
        # again as a young object, and every full collection then walks a million rows:
        # pauses of tens of ms, the p99 of purchases growing with their number.
        self._rows: dict[str, _Row] = {_ANCHOR: []}  # type: ignore[dict-item]
        # Equal values stored once: lines bought again, dates of the same millisecond.
        self._shared: dict[object, object] = {}
        self.reload(orders)

    def reload(self, orders: Iterable[Order]) -> None:
        """Hold exactly ``orders``, in this same (frozen, if it was) dict."""
        anchor = self._rows[_ANCHOR]
        self._rows.clear()
        self._rows[_ANCHOR] = anchor
        self._shared.clear()
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
        if order_id == _ANCHOR:
            raise KeyError(order_id)
        event_id, participant_id, created, lines = self._rows[order_id]
        return Order(order_id, event_id, participant_id, created,
                     tuple(OrderLine(*line) for line in lines))  # fmt: skip

    def __setitem__(self, order_id: str, order: Order) -> None:
        lines = tuple((x.ticket_id, x.name, x.quantity) for x in order.lines)
        self.add(order_id, order.event_id, order.participant_id, order.created, lines)

    def __delitem__(self, order_id: str) -> None:
        if order_id == _ANCHOR:
            raise KeyError(order_id)
        del self._rows[order_id]

    def __iter__(self) -> Iterator[str]:
        return (order_id for order_id in self._rows if order_id != _ANCHOR)

    def __len__(self) -> int:
        return len(self._rows) - 1

    def __contains__(self, order_id: object) -> bool:
        return order_id != _ANCHOR and order_id in self._rows
