"""Personal data out, consistent fake people in.

Every name, e-mail, phone and address the proxy keeps (in a recording, or in
the text of a finding) passes through :class:`Anonymiser` first. A person's
Faker values are derived from a keyed hash of the original e-mail (or, when
it has none, its id), so the same person is the same fake person everywhere
in one file, and nothing of the original survives.

>>> anon = Anonymiser(b"salt")
>>> a = anon.participant({"id": "1", "first_name": "Ann", "email": "ann@corp.example"})
>>> a == anon.participant({"id": "1", "first_name": "Ann", "email": "ANN@corp.example"})
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from faker import Faker

__all__ = ["PERSONAL_FIELDS", "Anonymiser", "Person"]

PERSONAL_FIELDS = ("last_name", "first_name", "email", "phone", "address")
# Fake people kept for reuse; beyond this many the least recent are derived again.
_CACHE = 10_000


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    address: str

    def value(self, name: str) -> str:
        return str(getattr(self, name))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded.lower()) or "person"


class Anonymiser:
    """Replaces personal fields by Faker values derived from a keyed hash of the person."""

    def __init__(self, salt: bytes) -> None:
        self._salt = salt
        self._faker = Faker("en_US")
        self._people: OrderedDict[bytes, Person] = OrderedDict()

    def person(self, key: str) -> Person:
        """The fake person standing in for the real one identified by ``key``."""
        digest = hmac.new(self._salt, key.strip().lower().encode(), hashlib.sha256).digest()
        person = self._people.get(digest)
        if person is not None:
            self._people.move_to_end(digest)
            return person
        self._faker.seed_instance(int.from_bytes(digest[:8], "big"))
        first, last = self._faker.first_name(), self._faker.last_name()
        person = Person(
            first_name=first,
            last_name=last,
            # The hash suffix keeps two people of the same fake name apart.
            email=f"{_ascii(first)}.{_ascii(last)}.{digest[8:11].hex()}@example.com",
            phone=self._faker.numerify("+1 ###-###-####"),
            address=f"{self._faker.street_address()}, {self._faker.city()}",
        )
        self._people[digest] = person
        if len(self._people) > _CACHE:
            self._people.popitem(last=False)
        return person

    def participant(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with its personal fields replaced (a copy; other fields as they were).

        A string becomes the fake person's value, null stays null; any other type
        (a drifted API) is withheld, saying only its type.
        """
        email, ident = data.get("email"), data.get("id")
        if isinstance(email, str) and email.strip():
            key = "email:" + email
        elif ident is not None:
            key = f"id:{ident}"
        else:
            key = "name:" + "|".join(str(data.get(k)) for k in PERSONAL_FIELDS)
        fake = self.person(key)
        out = dict(data)
        for name in PERSONAL_FIELDS:
            if name not in out:
                continue
            value = out[name]
            if isinstance(value, str):
                out[name] = fake.value(name) if value else ""
            elif value is not None and not isinstance(value, bool):
                out[name] = f"<{type(value).__name__} withheld>"
        return out

    def body(self, node: Any) -> Any:
        """A decoded JSON body with every object that holds personal fields anonymised."""
        if isinstance(node, dict):
            out = {k: self.body(v) for k, v in node.items()}
            if any(k in out for k in PERSONAL_FIELDS):
                out = self.participant(out)
            return out
        if isinstance(node, list):
            return [self.body(v) for v in node]
        return node
