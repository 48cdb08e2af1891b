"""Deterministic, Faker-seeded data sets.

The same seed and sizes give the same data on every machine: one seeded
``random.Random`` makes every structural choice, one seeded ``Faker`` instance
(never the global one) supplies names and places, and every date is drawn
from a fixed window, not from today.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .ids import ObjectIdFactory, object_id_time
from .models import Cover, Event, Order, Organizer, Participant, TicketType
from .participants import GeneratedParticipants, Pools

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["EAGER_MAX", "Dataset", "Sizes", "generate", "slugify"]

CLOUDINARY = "https://res.cloudinary.com/genielabel/image/upload/"
# Dates of generated objects fall in this window, whatever today is.
WINDOW_START = datetime(2024, 1, 1, tzinfo=UTC)
WINDOW_DAYS = 540

KINDS = ["Concert", "Festival", "Conference", "Meetup", "Workshop", "Gala", "Tournament", "Expo"]
THEMES = [
    "Jazz", "Rock", "Electro", "Blues", "Classique", "Hip-Hop", "Salsa", "Data Science",
    "Startups", "Design", "Cinéma", "Gastronomie", "Yoga", "Photographie", "Théâtre", "Vins",
]  # fmt: skip
TICKET_NAMES = ["Standard", "VIP", "Early Bird", "Student", "Backstage", "Family", "Premium"]
# Up to this many participants per event, each is drawn and held as an object
# (the data sets tests use). Beyond, they are computed on demand: a million
# participants then cost no start-up time and no memory (store/participants.py).
EAGER_MAX = 1000


@dataclass(frozen=True, slots=True)
class Sizes:
    organizers: int = 2
    events_per_organizer: int = 5
    ticket_types_per_event: int = 3
    participants_per_event: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> Sizes:
        """The sizes ``settings`` ask for (``--organizers``, ``--events-per-organizer``, ...)."""
        return cls(settings.organizers, settings.events_per_organizer,
                   settings.ticket_types_per_event, settings.participants_per_event)  # fmt: skip


@dataclass(slots=True)
class Dataset:
    """Everything a store holds; what fixture files and generated data sets describe."""

    organizers: list[Organizer]
    events: list[Event]
    orders: list[Order] = field(default_factory=list)
    description: str | None = None


def slugify(text: str) -> str:
    """``"Concert de Jazz"`` → ``"concert-de-jazz"`` (accents dropped, as GoEvent's slugs show)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "event"


def cover(public_id: str) -> Cover:
    """The four Cloudinary transformations of one image, as the live API lists them."""
    return Cover(
        square=f"{CLOUDINARY}c_fill,w_200,h_200,g_auto/{public_id}.jpg",
        thumb=f"{CLOUDINARY}c_thumb,w_400,h_300/{public_id}.jpg",
        medium=f"{CLOUDINARY}c_scale,w_800/{public_id}.jpg",
        original=f"{CLOUDINARY}{public_id}.jpg",
    )


def generate(seed: int, sizes: Sizes, tokens: list[str]) -> Dataset:
    """A data set for ``seed``: ``tokens[i]`` is the token of organizer ``i``."""
    # Imported here: a fake serving a fixture file never loads Faker (about 50 ms).
    from faker import Faker

    rng = random.Random(seed)
    fake = Faker(["fr_FR", "en_US"])
    fake.seed_instance(seed)
    ids = ObjectIdFactory(rng)
    # Pools drawn once from Faker, then combined by the rng (or, for participants
    # computed on demand, by a hash of their index): never a Faker call each.
    first_names = [fake.first_name() for _ in range(200)]
    last_names = [fake.last_name() for _ in range(200)]
    streets = [fake.street_address() for _ in range(100)]
    cities = [f"{fake.city()}, {fake.country()}" for _ in range(50)]
    domains = ["example.com", "example.org", "example.net", "mail.test"]

    organizers: list[Organizer] = []
    events: list[Event] = []
    slugs: set[str] = set()
    for o in range(sizes.organizers):
        created = WINDOW_START - timedelta(days=rng.randint(30, 365))
        organizer = Organizer(ids.make(created), fake.company(), tokens[o])
        organizers.append(organizer)
        for _ in range(sizes.events_per_organizer):
            events.append(_event(rng, ids, organizer, cities, slugs))
    lazy = sizes.participants_per_event > EAGER_MAX
    pools = Pools(first_names, last_names, streets, domains, slugify) if lazy else None
    for event in events:
        created = object_id_time(event.id)
        names = rng.sample(TICKET_NAMES, k=min(sizes.ticket_types_per_event, len(TICKET_NAMES)))
        for name in names:
            quantity = 0 if rng.random() < 0.1 else rng.randint(20, 500)
            event.tickets.append(TicketType(ids.make(created), event.id, name, quantity))
        span = max(1, int((event.date_start - created).total_seconds()))
        if pools is not None:
            event.participants = GeneratedParticipants(
                event.id,
                key=rng.getrandbits(64),
                tag=rng.getrandbits(40),
                start=created,
                span_ms=span * 1000,
                count=sizes.participants_per_event,
                pools=pools,
            )
            continue
        participants: list[Participant] = []
        for _ in range(sizes.participants_per_event):
            joined = created + timedelta(
                seconds=rng.randrange(span), milliseconds=rng.randrange(1000)
            )
            first, last = rng.choice(first_names), rng.choice(last_names)
            email = f"{slugify(first)}.{slugify(last)}{rng.randrange(100)}@{rng.choice(domains)}"
            participant = Participant(
                id=ids.make(joined),
                event_id=event.id,
                last_name=last,
                first_name=first,
                email=email,
                phone="+33" + "".join(str(rng.randrange(10)) for _ in range(9)),
                address=rng.choice(streets) if rng.random() < 0.5 else None,
                confirmed=rng.random() < 0.9,
                created=joined,
            )
            participants.append(participant)
        # Keys are unique (ids are), so sorting once gives what inserting in order did.
        participants.sort(key=lambda p: (p.created, p.id))
        event.participants = participants
    return Dataset(organizers, events)


def _event(
    rng: random.Random,
    ids: ObjectIdFactory,
    organizer: Organizer,
    cities: list[str],
    slugs: set[str],
) -> Event:
    created = WINDOW_START + timedelta(
        days=rng.randrange(WINDOW_DAYS), seconds=rng.randrange(86400)
    )
    start = (created + timedelta(days=rng.randint(14, 300))).replace(minute=0, second=0)
    start = start.replace(hour=rng.choice([10, 14, 18, 19, 20, 21]), microsecond=0)
    end = start + timedelta(hours=rng.choice([2, 3, 4, 6, 8, 48, 72]))
    name = f"{rng.choice(KINDS)} {rng.choice(THEMES)}"
    slug = base = slugify(name)
    n = 2
    while slug in slugs:
        slug, n = f"{base}-{n}", n + 1
    slugs.add(slug)
    return Event(
        id=ids.make(created),
        organizer_id=organizer.id,
        name=name,
        slug=slug,
        date_start=start,
        date_end=end,
        location=rng.choice(cities),
        publish=rng.random() < 0.8,
        cover=cover(f"{rng.getrandbits(64):016x}"),
    )
