"""The linkage pseudonym beside a published record (streams/runtime/linkage.py), and its key's checks."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import pytest

from dids.kernel.errors import ConfigError
from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.settings import Settings
from streams.evaluate import Verdict
from streams.privacy import SURROGATE
from streams.process import Output, Routed
from streams.runtime.linkage import linkage_record, load_linkage_key

NOW = datetime(2026, 11, 3, tzinfo=timezone.utc)
KEY = secrets.token_hex(32).encode()
NHS = "9434765919"


def routed(status="active", *, restricted=False, nhs=NHS, surrogate=False, published=True):
    record = {"record_key": "RAA01|A1", "version": 3, "status": status}
    state = {"items": {"nhs_number": nhs}, **({SURROGATE: True} if surrogate else {})}
    kind = "accepted" if status == "active" else status
    return Routed(
        "applied",
        state=state,
        examination=Output("RAA01|A1", b"...") if published else None,
        verdict=Verdict(kind, record=record, restricted=restricted),
    )


def test_an_active_record_gets_the_keyed_hash_of_its_nhs_number():
    keyer = Pseudonymiser(KEY)
    record = linkage_record(routed(nhs="943 476 5919"), keyer, NOW)
    assert record == {"record_key": "RAA01|A1", "version": 3, "linkage_id": keyer.person_id(NHS), "processed_time": NOW}
    assert record["linkage_id"] != Pseudonymiser(secrets.token_hex(32).encode()).person_id(NHS)


@pytest.mark.parametrize(
    "case",
    [
        routed(restricted=True),  # a fertility-related code: linked to nobody
        routed(surrogate=True),  # a restricted record's state keeps a surrogate number
        routed("cancelled"),
        routed("withdrawn"),
        routed(nhs="9434765918"),  # invalid check digit
        routed(nhs=None),
    ],
)
def test_no_linkage_pseudonym_where_the_record_must_not_link(case):
    assert linkage_record(case, Pseudonymiser(KEY), NOW)["linkage_id"] is None


def test_nothing_when_nothing_is_published():
    assert linkage_record(routed(published=False), Pseudonymiser(KEY), NOW) is None


def key_file(tmp_path, content: bytes, mode=0o600):
    path = tmp_path / "linkage.key"
    path.write_bytes(content)
    path.chmod(mode)
    return str(path)


def test_the_key_file_is_checked(tmp_path):
    settings = Settings(demo=1)
    assert load_linkage_key(settings) is None
    assert load_linkage_key(settings.with_(linkage_key_file=key_file(tmp_path, KEY + b"\n"))) == KEY
    for content, mode, message in [
        (KEY, 0o644, "chmod 600"),
        (b"short", 0o600, "at least 32"),
        (b"a" * 64, 0o600, "too predictable"),
    ]:
        with pytest.raises(ConfigError, match=message) as refused:
            load_linkage_key(settings.with_(linkage_key_file=key_file(tmp_path, content, mode)))
        assert KEY.decode() not in str(refused.value)
    with pytest.raises(ConfigError, match="cannot read it"):
        load_linkage_key(settings.with_(linkage_key_file=str(tmp_path / "missing.key")))


def test_the_pseudonymisation_key_is_refused_as_the_linkage_key(tmp_path):
    settings = Settings(pseudonymisation_key=KEY.decode(), linkage_key_file=key_file(tmp_path, KEY))
    with pytest.raises(ConfigError, match="is the pseudonymisation key"):
        load_linkage_key(settings)
