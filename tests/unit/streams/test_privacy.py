"""Pseudonymisation key, person id, restricted placeholder and identifier stripping (no services)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle

import pytest

from dids.kernel.errors import DidsError
from dids.kernel.pseudonyms import DEMO_KEY, PrivacyConfigError, Pseudonymiser, is_person_id, load_pseudonymisation_key
from dids.kernel.settings import Settings
from streams.derive.national import NATIONAL_COLUMNS
from streams.privacy import IDENTIFYING_COLUMNS, RESTRICTED_PERSON_ID, apply_restriction, strip_identifiers

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
VALID = "9434765919"  # DIDS-SPEC §6 worked example


# ---- person id ----


def test_person_id_is_the_keyed_hmac_sha256_of_the_cleansed_number():
    assert Pseudonymiser(KEY).person_id(VALID) == hmac.new(KEY, b"9434765919", hashlib.sha256).hexdigest()


def test_person_id_depends_on_the_key_and_is_not_a_bare_hash():
    a, b = Pseudonymiser(KEY).person_id(VALID), Pseudonymiser(OTHER_KEY).person_id(VALID)
    assert a != b
    assert hashlib.sha256(VALID.encode()).hexdigest() not in (a, b)


def test_person_id_is_stable_and_distinct_per_number():
    p = Pseudonymiser(KEY)
    assert p.person_id(VALID) == p.person_id(VALID)
    assert p.person_id(VALID) != p.person_id("4010232137")
    assert is_person_id(p.person_id(VALID))


@pytest.mark.parametrize("spelling", ["943 476 5919", "943-476-5919", " 9434765919 ", "943\t476-59 19"])
def test_spaces_and_hyphens_are_removed_first(spelling):
    p = Pseudonymiser(KEY)
    assert p.person_id(spelling) == p.person_id(VALID)


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "-", "9434765918", "943476591", "94347659190", "0123456789", "1000000001", "0000000000",
     "943476591X", "９４３４７６５９１９"],
)  # fmt: skip
def test_no_valid_nhs_number_means_no_person_id(value):
    assert Pseudonymiser(KEY).person_id(value) is None


def test_repr_and_pickle_do_not_expose_the_key():
    key = b"a-very-secret-key-" + b"x" * 32
    p = Pseudonymiser(key)
    text = repr(p) + str(p)
    assert "secret" not in text and key.decode() not in text and key.hex() not in text
    assert p.key_id in text
    with pytest.raises(TypeError):
        pickle.dumps(p)


def test_key_id_identifies_the_key_without_revealing_it():
    assert Pseudonymiser(KEY).key_id == Pseudonymiser(KEY).key_id != Pseudonymiser(OTHER_KEY).key_id


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 31])
def test_a_short_key_is_refused(key):
    with pytest.raises(PrivacyConfigError):
        Pseudonymiser(key)


# ---- restriction and identifiers ----


def test_restricted_records_get_the_one_placeholder():
    assert RESTRICTED_PERSON_ID == "U0000001"
    pid = Pseudonymiser(KEY).person_id(VALID)
    assert apply_restriction(pid, True) == RESTRICTED_PERSON_ID
    assert apply_restriction(None, True) == RESTRICTED_PERSON_ID
    assert apply_restriction(pid, False) == pid
    assert apply_restriction(None, False) is None


def test_identifying_columns_are_national_columns():
    assert {"NHS_NUMBER", "POSTCODE", "DATE_OF_BIRTH"} <= IDENTIFYING_COLUMNS
    assert set(NATIONAL_COLUMNS) >= IDENTIFYING_COLUMNS


def test_strip_identifiers_removes_every_identifying_column_and_keeps_the_rest_in_order():
    derived = {name: f"value-{i}" for i, name in enumerate(NATIONAL_COLUMNS)}
    stripped = strip_identifiers(derived)
    assert not IDENTIFYING_COLUMNS & set(stripped)
    assert list(stripped) == [n for n in NATIONAL_COLUMNS if n not in IDENTIFYING_COLUMNS]
    assert all(stripped[n] == derived[n] for n in stripped)
    assert "NHS_NUMBER" in derived  # the input is not modified


# ---- the key ----


KEY = b"3f9c2a7b81d04e6f5a2c9e1b7d3f0a86c4e1d2b3a4f5061728394a5b6c7d8e9f"  # 64 hex digits, as token_hex(32)


def _key_file(tmp_path, content: bytes, mode: int = 0o600):
    path = tmp_path / "key"
    path.write_bytes(content)
    path.chmod(mode)
    return path


def test_key_file_is_read_without_its_trailing_newline(tmp_path):
    path = _key_file(tmp_path, KEY + b"\n")
    assert load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(path))) == KEY
    path.write_bytes(KEY[::-1] + b"\r\n")
    assert load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(path))) == KEY[::-1]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_key_file_others_may_read_is_refused(tmp_path, mode):
    path = _key_file(tmp_path, KEY, mode)
    with pytest.raises(PrivacyConfigError, match="chmod 600") as exc:
        load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(path)))
    assert KEY.decode() not in str(exc.value)


@pytest.mark.parametrize("content", [b"a" * 64, b"ab" * 32, b"password" * 8])
def test_a_long_but_predictable_key_is_refused(tmp_path, content):
    with pytest.raises(PrivacyConfigError, match="too predictable"):
        load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(_key_file(tmp_path, content))))
    with pytest.raises(PrivacyConfigError, match="too predictable"):
        load_pseudonymisation_key(Settings(pseudonymisation_key=content.decode()))


def test_the_demo_key_is_refused_with_reference_data_of_ones_own(tmp_path):
    with pytest.raises(PrivacyConfigError, match="DIDS_REFDATA_DIR"):
        load_pseudonymisation_key(Settings(demo=1, refdata_dir=str(tmp_path)))


@pytest.mark.parametrize("content", [b"", b"\n", b"tooshort\n", b"x" * 31 + b"\n"])
def test_an_empty_or_short_key_file_is_refused_without_showing_it(tmp_path, content):
    path = _key_file(tmp_path, content)
    with pytest.raises(PrivacyConfigError) as exc:
        load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(path), demo=1))
    assert "DIDS_PSEUDONYMISATION_KEY_FILE" in str(exc.value) and str(path) in str(exc.value)
    assert "tooshort" not in str(exc.value) and "x" * 31 not in str(exc.value)


def test_a_missing_key_file_names_the_variable(tmp_path):
    with pytest.raises(PrivacyConfigError, match="DIDS_PSEUDONYMISATION_KEY_FILE"):
        load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(tmp_path / "nope"), demo=1))


def test_key_from_the_environment():
    secret = KEY.decode()
    assert load_pseudonymisation_key(Settings.from_env({"DIDS_PSEUDONYMISATION_KEY": secret})) == secret.encode()
    with pytest.raises(PrivacyConfigError, match="DIDS_PSEUDONYMISATION_KEY") as exc:
        load_pseudonymisation_key(Settings(pseudonymisation_key="short-secret"))
    assert "short-secret" not in str(exc.value)


def test_two_key_sources_are_refused(tmp_path):
    path = _key_file(tmp_path, KEY)
    with pytest.raises(PrivacyConfigError, match="set only one"):
        load_pseudonymisation_key(Settings(pseudonymisation_key_file=str(path), pseudonymisation_key=KEY.decode()))


def test_no_key_is_an_error_naming_every_variable_and_how_to_make_one():
    with pytest.raises(PrivacyConfigError) as exc:
        load_pseudonymisation_key(Settings())
    message = str(exc.value)
    for name in ("DIDS_PSEUDONYMISATION_KEY_FILE", "DIDS_PSEUDONYMISATION_KEY", "DIDS_DEMO", "secrets.token_hex(32)"):
        assert name in message
    assert isinstance(exc.value, DidsError)


def test_demo_key_only_in_demo_mode_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="dids.kernel.pseudonyms"):
        key = load_pseudonymisation_key(Settings(demo=1))
    assert key == DEMO_KEY
    assert any("DEMO-ONLY" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert DEMO_KEY.decode() not in caplog.text
    for demo in (0, 2):
        with pytest.raises(PrivacyConfigError):
            load_pseudonymisation_key(Settings(demo=demo))


def test_a_real_key_wins_over_demo_mode_silently(caplog):
    with caplog.at_level(logging.WARNING, logger="dids.kernel.pseudonyms"):
        assert load_pseudonymisation_key(Settings(pseudonymisation_key=KEY.decode(), demo=1)) == KEY
    assert not caplog.records
