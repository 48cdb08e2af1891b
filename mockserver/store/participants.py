"""The participants of an event: generated on demand, merged with those added at run time.

A generated event may have a million participants. Holding each as an object
would cost seconds to build and hundreds of megabytes, so
:class:`GeneratedParticipants` computes participant ``i`` when it is asked for,
as a pure function of (seed, event, ``i``): the same seed gives the same
participants, byte for byte, and nothing is stored. Their ``created`` dates
grow with ``i``, so index order is List Participants' (created, id) order.

:class:`Roster` is what the store pages through: a sorted base (a plain list,
or generated participants) plus the few participants created by purchases,
kept sorted apart and merged in order, so pagination stays exact (no
duplicates, no gaps) and costs the page size, not the offset.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import overload

from .models import Participant

__all__ = ["MAX_GENERATED", "GeneratedParticipants", "Pools", "Roster", "participant_key"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MASK = (1 << 64) - 1
# The low three bytes of a generated participant's ObjectId are its index (as
# MongoDB's counter bytes), so an id names its participant without a table.
MAX_GENERATED = 0xFFFFFF


def participant_key(p: Participant) -> tuple[datetime, str]:
    """List Participants' order: by creation date, then id."""
    return (p.created, p.id)


def _mix(x: int) -> int:
    """SplitMix64's finalizer: 64 well-mixed bits from any integer, the same everywhere."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Pools:
    """Names, streets and domains drawn once from a seeded Faker, combined per participant.

    ``email_names[i]`` is the slug of ``names[i]``, worked out once.
    """

    __slots__ = ("domains", "email_firsts", "email_lasts", "firsts", "lasts", "n_domains",
                 "n_firsts", "n_lasts", "n_streets", "streets")  # fmt: skip

    def __init__(
        self,
        firsts: list[str],
        lasts: list[str],
        streets: list[str],
        domains: list[str],
        slug: Callable[[str], str],
    ) -> None:
        self.firsts, self.lasts, self.streets, self.domains = firsts, lasts, streets, domains
        self.email_firsts = [slug(x) for x in firsts]
        self.email_lasts = [slug(x) for x in lasts]
        self.n_firsts, self.n_lasts = len(firsts), len(lasts)
        self.n_streets, self.n_domains = len(streets), len(domains)


class GeneratedParticipants(Sequence[Participant]):
    """``count`` participants of ``event_id``, each computed from (``key``, index) on demand.

    Participant ``i`` joined at ``start`` + about ``i / count`` of ``span_ms``;
    its id is ``<created seconds><tag><i>`` (4 + 5 + 3 bytes, hex).
    """

    def __init__(
        self,
        event_id: str,
        *,
        key: int,
        tag: int,
        start: datetime,
        span_ms: int,
        count: int,
        pools: Pools,
    ) -> None:
        if not 0 <= count <= MAX_GENERATED:
            raise ValueError(
                f"an event can have at most {MAX_GENERATED:,} generated participants, got {count:,}"
            )
        self.event_id, self.key, self.tag, self.size = event_id, key, tag, count
        self.tag_hex = f"{tag:010x}"
        self._start_ms = (start - _EPOCH) // timedelta(milliseconds=1)
        self._span_ms = max(1, span_ms)
        # Participant i's date lies in [i·span/count, i·span/count + step): dates
        # never decrease with i, so index order is (created, id) order.
        self._step = self._span_ms // count if count else 0
        self._pools = pools

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> Participant: ...
    @overload
    def __getitem__(self, index: slice) -> list[Participant]: ...
    def __getitem__(self, index: int | slice) -> Participant | list[Participant]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self._make(index)

    def __iter__(self) -> Iterator[Participant]:
        return map(self._make, range(self.size))

    def _bits(self, i: int) -> tuple[int, int]:
        bits = _mix(self.key + i)
        return bits, _mix(bits)

    def _created_ms(self, i: int, more: int) -> int:
        jitter = more % self._step if self._step > 1 else 0
        return self._start_ms + i * self._span_ms // self.size + jitter

    def _id(self, i: int, created_ms: int) -> str:
        return f"{(created_ms // 1000) & 0xFFFFFFFF:08x}{self.tag_hex}{i:06x}"

    def _make(self, i: int) -> Participant:
        # Fields from disjoint bits of two 64-bit hashes of the index. What _bits,
        # _created_ms and _id compute, inlined: this runs 20 times per page.
        bits = _mix(self.key + i)
        more = _mix(bits)
        pools = self._pools
        first = (bits & 0xFFFF) % pools.n_firsts
        last = (bits >> 16 & 0xFFFF) % pools.n_lasts
        step = self._step
        created_ms = (
            self._start_ms + i * self._span_ms // self.size + (more % step if step > 1 else 0)
        )
        seconds, ms = divmod(created_ms, 1000)
        return Participant(
            f"{seconds & 0xFFFFFFFF:08x}{self.tag_hex}{i:06x}",
            self.event_id,
            pools.lasts[last],
            pools.firsts[first],
            f"{pools.email_firsts[first]}.{pools.email_lasts[last]}{(bits >> 32 & 0x7F) % 100}"
            f"@{pools.domains[(bits >> 39 & 0xFF) % pools.n_domains]}",
            f"+33{(more >> 32) % 1_000_000_000:09d}",
            pools.streets[(bits >> 48 & 0xFF) % pools.n_streets] if bits >> 47 & 1 else None,
            (bits >> 56) % 10 < 9,
            _EPOCH + timedelta(0, seconds, ms * 1000),
        )

    def key_at(self, i: int) -> tuple[datetime, str]:
        """``participant_key(self[i])``, without building the participant."""
        created_ms = self._created_ms(i, self._bits(i)[1])
        seconds, ms = divmod(created_ms, 1000)
        return (_EPOCH + timedelta(0, seconds, ms * 1000), self._id(i, created_ms))

    def rank(self, key: tuple[datetime, str]) -> int:
        """How many of these participants sort before ``key``."""
        return bisect_left(range(self.size), key, key=self.key_at)

    def find(self, participant_id: str) -> Participant | None:
        """The participant with this id, or None: O(1), checked by regenerating it."""
        if len(participant_id) != 24 or participant_id[8:18] != self.tag_hex:
            return None
        try:
            index = int(participant_id[18:], 16)
        except ValueError:
            return None
        if index >= self.size:
            return None
        found = self._make(index)
        return found if found.id == participant_id else None


class Roster(Sequence[Participant]):
    """An event's participants in (created, id) order: a sorted ``base`` and those added since.

    >>> roster = Roster([])
    >>> len(roster), roster[0:20]
    (0, [])
    """

    def __init__(self, base: Sequence[Participant]) -> None:
        self.base = base
        self.added: list[Participant] = []
        # _ranks[j]: how many base participants sort before added[j]. Its place in
        # the merged order is then _ranks[j] + j.
        self._ranks: list[int] = []

    def __len__(self) -> int:
        return len(self.base) + len(self.added)

    def add(self, participant: Participant) -> None:
        """Insert a participant in its place."""
        key = participant_key(participant)
        j = bisect_left(self.added, key, key=participant_key)
        if isinstance(self.base, GeneratedParticipants):
            rank = self.base.rank(key)
        else:
            rank = bisect_left(self.base, key, key=participant_key)
        self.added.insert(j, participant)
        self._ranks.insert(j, rank)

    def _first_added_at_or_after(self, position: int) -> int:
        ranks = self._ranks
        return bisect_left(range(len(ranks)), position, key=lambda j: ranks[j] + j)

    @overload
    def __getitem__(self, index: int) -> Participant: ...
    @overload
    def __getitem__(self, index: slice) -> list[Participant]: ...
    def __getitem__(self, index: int | slice) -> Participant | list[Participant]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._slice(start, stop)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._slice(index, index + 1)[0]

    def _slice(self, start: int, stop: int) -> list[Participant]:
        if not self.added:
            return list(self.base[start:stop])
        if start >= stop:
            return []
        ranks, added = self._ranks, self.added
        j = self._first_added_at_or_after(start)
        j_end = self._first_added_at_or_after(stop)
        b = start - j  # base participants before position `start`
        base = self.base[b : b + (stop - start) - (j_end - j)]
        out: list[Participant] = []
        bi = 0
        for position in range(start, stop):
            if j < j_end and ranks[j] + j == position:
                out.append(added[j])
                j += 1
            else:
                out.append(base[bi])
                bi += 1
        return out

    def __iter__(self) -> Iterator[Participant]:
        size = 4096
        for start in range(0, len(self), size):
            yield from self._slice(start, min(start + size, len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Roster of {len(self):,} participants ({len(self.added)} added)>"
