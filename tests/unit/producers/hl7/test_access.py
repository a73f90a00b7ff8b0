"""The HL7 listener's allow-lists and TLS settings (pure parts; the listener itself: tests/integration/test_hl7.py)."""

from __future__ import annotations

import pytest

from dids.kernel.errors import ConfigError
from producers.hl7.access import SourcePolicy, UnknownSourceError, parse_facilities, parse_networks, tls_context
from producers.hl7.decode import read_header


def test_networks_and_addresses_are_read_and_typos_refused():
    policy = SourcePolicy(parse_networks(["10.1.0.0/16, 192.0.2.7", "::1"]))
    assert policy.allows_peer("10.1.200.3") and policy.allows_peer("192.0.2.7") and policy.allows_peer("::1")
    assert policy.allows_peer("::ffff:10.1.0.9")  # IPv4 seen through an IPv6 socket
    assert not policy.allows_peer("10.2.0.1") and not policy.allows_peer("192.0.2.8")
    assert not policy.allows_peer("") and not policy.allows_peer("not-an-address")
    with pytest.raises(ConfigError, match="10.1.0.0/33"):
        parse_networks(["10.1.0.0/33"])


def test_no_list_lets_everyone_in():
    assert SourcePolicy().allows_peer("203.0.113.9")
    SourcePolicy().check_facility(read_header(b"MSH|^~\\&|RIS|ANY|DIDS|DIDS|"))


@pytest.mark.parametrize(
    ("msh4", "allowed"),
    [("RXX", True), ("rxx ", True), ("Royal X^RXX^L", True), ("RYY", False), ("", False), ("RXX1", False)],
)
def test_the_sending_facility_is_matched_on_either_identifier(msh4, allowed):
    policy = SourcePolicy(facilities=parse_facilities(["RXX,RAA"]))
    header = read_header(f"MSH|^~\\&|RIS|{msh4}|DIDS|DIDS|".encode())
    if allowed:
        policy.check_facility(header)
    else:
        with pytest.raises(UnknownSourceError) as caught:
            policy.check_facility(header)
        assert caught.value.code == 103 and caught.value.location == "MSH-4"
        assert msh4.strip() not in caught.value.reason or not msh4.strip()  # no submitted value in the reason


def test_tls_settings_are_checked_before_the_listener_starts(tmp_path):
    assert tls_context("", "") is None
    with pytest.raises(ConfigError, match="both"):
        tls_context(str(tmp_path / "c.pem"), "")
    with pytest.raises(ConfigError, match="needs --tls-cert"):
        tls_context("", "", str(tmp_path / "ca.pem"))
    with pytest.raises(ConfigError, match="does not exist"):
        tls_context(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("not a certificate")
    key.write_text("not a key")
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        tls_context(str(cert), str(key))
    key.chmod(0o600)
    with pytest.raises(ConfigError, match="cannot load"):
        tls_context(str(cert), str(key))
