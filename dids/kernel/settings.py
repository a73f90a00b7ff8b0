"""Settings: one frozen object built from ``DIDS_*`` environment variables at the CLI edge.

The same names are used in docker-compose.yml. Defaults run the whole stack on loopback.
Modules never read the environment themselves: they take a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from dids.kernel.errors import ConfigError

_PREFIX = "DIDS_"
SECRET_FIELDS = {
    "clickhouse_password",
    "analyst_password",
    "admin_password",
    "pseudonymisation_key",
    "kafka_sasl_password",
    "kafka_ssl_key_password",
    "linkage_password",
}

# secrets that may also come from a file named by DIDS_<SECRET>_FILE (the key has its own _file setting)
FILE_BACKED_SECRETS = tuple(sorted(SECRET_FIELDS - {"pseudonymisation_key"}))


def secret_file_variable(name: str) -> str:
    return f"{_PREFIX}{name.upper()}_FILE"


# the variables that carry a secret, or the file of one: a child process never inherits them
SECRET_VARIABLES = frozenset(
    {_PREFIX + name.upper() for name in SECRET_FIELDS} | {secret_file_variable(name) for name in SECRET_FIELDS}
)


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` less every secret variable (what a parent hands on to a child, before adding file paths)."""
    return {name: value for name, value in env.items() if name not in SECRET_VARIABLES}


@dataclass(frozen=True)
class Settings:
    # where local state lives: logs, pid files, broker and warehouse data, caches
    home: Path = Path(".dids")
    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""  # tests and side-by-side stacks namespace their topics with it
    topic_partitions: int = 2
    topic_replication: int = 1
    # Kafka security, passed to every client (librdkafka and Faust alike): PLAINTEXT, SSL,
    # SASL_PLAINTEXT or SASL_SSL; SASL mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; PEM files
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_ca_file: str = ""
    kafka_ssl_cert_file: str = ""
    kafka_ssl_key_file: str = ""
    kafka_ssl_key_password: str = ""
    # ClickHouse (a server, or the embedded `dids warehouse`), always over HTTP
    clickhouse_url: str = "http://127.0.0.1:8123"
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    clickhouse_database: str = "dids"
    # a ClickHouse cluster name: migrations then run ON CLUSTER with Replicated engines (sinks/cluster.py)
    clickhouse_cluster: str = ""
    # the embedded warehouse's own accounts (ignored when talking to a real server)
    admin_password: str = ""
    analyst_user: str = "analyst"
    analyst_password: str = "analyst"
    # the embedded warehouse stops an analyst query after this many seconds
    warehouse_analyst_max_seconds: float = 60.0
    # requests the embedded warehouse serves at once (running or queued); more are answered 503
    warehouse_max_queries: int = 64
    # connections the embedded warehouse keeps open at once; more get one 503 and are closed
    warehouse_max_connections: int = 256
    # seconds a warehouse connection may stay idle, or take to send a whole request head
    warehouse_idle_seconds: float = 30.0
    # privacy: the keyed hash of NHS numbers; a key file (or the key itself) is required unless demo is on
    pseudonymisation_key: str = ""
    pseudonymisation_key_file: str = ""
    # the cancer-registry linkage feed: the key shared with the registry (a 0600 file); without it the stream
    # computes no linkage pseudonym and `dids linkage` says how to configure one
    linkage_key_file: str = ""
    # the embedded warehouse's linkage account, which alone reads linkage_feed (no password: no account)
    linkage_user: str = "linkage"
    linkage_password: str = ""
    demo: int = 0  # 1: local demo, a fixed well-known pseudonymisation key is allowed (never in production)
    # reference data folder (CSV files, streams/refdata/FORMATS.md); empty = the shipped samples in demo mode
    refdata_dir: str = ""
    # logs: text for people, json (one object a line) for log shippers
    log_format: str = "text"
    # every service's /metrics binds here (0.0.0.0 in containers)
    metrics_host: str = "127.0.0.1"
    # stream processors
    streams_app_id: str = "dids-streams"
    streams_metrics_port: int = 9101
    # a worker with events waiting and none processed this long exits, for its supervisor to restart it
    streams_liveness_seconds: float = 120.0
    # where a worker keeps its lifecycle table: rocksdb (on disk under DIDS_HOME, bounded memory) or memory
    streams_store: str = "rocksdb"
    # 1: faust-streaming's repaired Cython fast paths (off upstream by default; see README "Performance")
    streams_cython_optimizations: int = 0
    # events judged together by the columnar engine: at most this many, waiting at most this long for them
    streams_batch_events: int = 2000
    streams_batch_seconds: float = 0.02
    # sink
    sink_group: str = "dids-sink"
    sink_batch_rows: int = 5000
    sink_batch_seconds: float = 0.5
    sink_metrics_port: int = 9102
    # monthly snapshots: days after a month's end when its provisional and final snapshots are due
    snapshot_provisional_days: int = 35
    snapshot_final_days: int = 185
    # disclosure control of the published (pub_*) statistics views: sub-national counts 1..threshold are
    # suppressed, other sub-national counts rounded to the nearest rounding base (sinks/disclosure.py)
    disclosure_threshold: int = 7
    disclosure_rounding_base: int = 5
    # producers
    producer_metrics_port: int = 9103
    # the HL7 listener (its own port: it often runs beside the simulator)
    hl7_metrics_port: int = 9104

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every field from ``DIDS_<FIELD>``; unknown DIDS_* names are ignored."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        for name in FILE_BACKED_SECRETS:
            # DIDS_<SECRET>_FILE: how processes hand secrets to each other (dids.kernel.secrets)
            path = env.get(secret_file_variable(name))
            if path and not values.get(name):
                from dids.kernel.secrets import read_secret_file

                values[name] = read_secret_file(Path(path), secret_file_variable(name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def masked(self) -> dict[str, str]:
        """A dump safe to log: secrets replaced by ``***``."""
        out = {}
        for k, v in asdict(self).items():
            out[k] = "***" if k in SECRET_FIELDS and v else str(v)
        return out

    @staticmethod
    def env_names() -> list[str]:
        return [_PREFIX + f.name.upper() for f in fields(Settings)]

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


def _coerce(name: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(f"DIDS_{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw
