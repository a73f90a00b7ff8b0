"""Who may send to the HL7 listener: an optional allow-list of peer networks and of sending
facilities, and TLS (optionally with client certificates).

A peer outside the networks is closed before a byte is read: it sent nothing we could lose. A
message from a facility not on the list is read, answered AR (HL7 error 103 at MSH-4) and
dead-lettered like any other refused message, so an interface set up wrongly is visible at once.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dids.kernel.errors import ConfigError
from dids.kernel.secrets import read_secret_file
from producers.hl7.decode import MshHeader
from producers.hl7.errors import TABLE_VALUE_NOT_FOUND, Hl7Error

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnknownSourceError(Hl7Error):
    """The sending facility (MSH-4) is not on the listener's allow-list: answered AR, dead-lettered."""

    kind = "hl7.unknown_source"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``10.1.0.0/16``, ``192.0.2.7`` or ``::1``; a typo is a clear error, not an open door."""
    networks = []
    for value in values:
        for part in value.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ConfigError(f"--allow-from {part!r} is not an address or network (e.g. 10.1.0.0/16)") from exc
    return tuple(networks)


def parse_facilities(values: Iterable[str]) -> frozenset[str]:
    return frozenset(p.strip().upper() for v in values for p in v.split(",") if p.strip())


@dataclass(frozen=True)
class SourcePolicy:
    """Empty lists allow everyone (the loopback default); each list, once given, is enforced."""

    networks: tuple[Network, ...] = ()
    facilities: frozenset[str] = frozenset()

    def allows_peer(self, address: str) -> bool:
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:  # not an IP peer (a Unix socket in tests): only an open policy lets it in
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def check_facility(self, header: MshHeader) -> None:
        """MSH-4 (HD): its namespace id or its universal id (e.g. an ODS code) must be on the list."""
        if not self.facilities:
            return
        names = {header.component(4, 1).strip().upper(), header.component(4, 2).strip().upper()} - {""}
        if not names & self.facilities:
            raise UnknownSourceError(
                "sending facility (MSH-4) is not on this listener's allow-list", TABLE_VALUE_NOT_FOUND, "MSH-4"
            )


def tls_context(cert_file: str, key_file: str, client_ca_file: str = "") -> ssl.SSLContext | None:
    """A server context (TLS 1.2 or later), or None without a certificate. With ``client_ca_file`` a
    client must present a certificate signed by it (mutual TLS)."""
    if not cert_file and not key_file:
        if client_ca_file:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if not (cert_file and key_file):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    for path in (cert_file, key_file, client_ca_file):
        if path and not Path(path).is_file():
            raise ConfigError(f"TLS file {path} does not exist")
    read_secret_file(Path(key_file), "--tls-key")  # refused if group or others may read it
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        if client_ca_file:
            context.load_verify_locations(client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    except ssl.SSLError as exc:
        raise ConfigError(f"cannot load the TLS certificate or key: {exc.reason or exc}") from exc
    return context
