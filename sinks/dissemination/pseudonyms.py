"""The person pseudonym of an extract: per recipient, so two recipients cannot join their extracts on it.

A recipient's key is the HMAC of its name under the pseudonymisation key, and its pseudonym of a person
the HMAC of the warehouse's ``person_id`` under that key: the same person has the same pseudonym in every
extract of one recipient (its releases can be linked with each other, as successive releases under one
agreement are meant to be) and an unrelated one for every other recipient. Nothing here goes to
ClickHouse: the keys stay in this process, so no query text or log holds them.
"""

from __future__ import annotations

import hashlib
import hmac

from dids.kernel.pseudonyms import is_person_id

_CONTEXT = b"dids extract recipient\x00"


class RecipientPseudonymiser:
    __slots__ = ("_mac",)

    def __init__(self, pseudonymisation_key: bytes, recipient: str):
        # the name as the agreement gives it, trimmed and case-folded: "NDRS" and "ndrs " are one recipient
        name = " ".join(recipient.split()).casefold().encode("utf-8")
        key = hmac.new(bytes(pseudonymisation_key), _CONTEXT + name, hashlib.sha256).digest()
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def pseudonym(self, person_id: str | None) -> str | None:
        """The recipient's pseudonym of ``person_id``; None for no person id and for the placeholder of
        restricted (fertility-related) codes, which must stay unlinkable in an extract too."""
        if not is_person_id(person_id):
            return None
        mac = self._mac.copy()
        mac.update(person_id.encode("ascii"))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "RecipientPseudonymiser(<key hidden>)"

    def __reduce__(self):
        raise TypeError("a RecipientPseudonymiser holds a secret key and cannot be pickled")
