"""The reads' answers, kept until the store changes.

A GET's answer is a function of the store's state, the organizer, the path and the
query, nothing else (no body, no header parameter, no link to build), so the bytes of a
200 are kept and served again while the store is unchanged: validation, the handler, the
rendering and the response check are skipped (steps 3 to 5 of ``http/pipeline``); the
token, the limits and faults, and the journal (steps 1, 2 and 6) still run every time.

"Unchanged" is :attr:`Store.version`, which every write (a purchase, a reset, a fixture)
raises under the store's lock. The version is read before the answer is made, so a write
made meanwhile outdates it: an answer is never served at another version than its own.
Entries hold their store weakly: a forgotten sandbox's store goes, and its answers are
never served to a new store.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..store import Store

__all__ = ["MAX_ANSWERS", "MAX_ANSWER_BYTES", "MAX_KEY_BYTES", "Answers"]

# At most this many answers, each at most this large, under a key no longer than this (a
# query string padded with unknown parameters is answered, not kept): ~17 MB in the worst
# case (a client asking for thousands of distinct pages); past that the set starts over.
MAX_ANSWERS = 512
MAX_ANSWER_BYTES = 32 * 1024
MAX_KEY_BYTES = 2048


class Answers:
    """The 200 answers of reads, by store, version and ``key`` (organizer, path, query)."""

    def __init__(self, max_answers: int = MAX_ANSWERS) -> None:
        self.max_answers = max_answers  # 0: keep none (bench/page_cost.py measures pages)
        self._kept: dict[tuple[Any, ...], tuple[weakref.ref[Store], int, bytes]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, store: Store, key: tuple[Any, ...]) -> bytes | None:
        """The answer kept for ``key`` in ``store``, if the store has not changed since."""
        entry = self._kept.get((id(store), *key))
        if entry is not None and entry[0]() is store and entry[1] == store.version:
            return entry[2]
        return None

    def keep(self, store: Store, version: int, key: tuple[Any, ...], body: bytes) -> None:
        """Keep ``body``, the 200 answer for ``key``, made when ``store`` was at ``version``."""
        if len(body) > MAX_ANSWER_BYTES or self.max_answers < 1:
            return
        if sum(len(part) for part in key if isinstance(part, str | bytes)) > MAX_KEY_BYTES:
            return
        if len(self._kept) >= self.max_answers:
            self._kept.clear()
        self._kept[(id(store), *key)] = (weakref.ref(store), version, body)
