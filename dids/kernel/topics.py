"""Topic names and their configuration. Every topic is created explicitly before anything uses it.

A broker's auto-created topic would get the broker default partition count, and Faust refuses a
table whose changelog has a different partition count from its source topic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dids.kernel.errors import DidsError
from dids.kernel.kafka import admin_client
from dids.kernel.settings import Settings

log = logging.getLogger(__name__)

RIS_EVENTS = "dids.ris.events"  # key site_code|accession; Avro examination_event
CONSENT = "dids.consent"  # compacted, key hashed NHS number
EXAMINATIONS = "dids.examinations"  # compacted, key site_code|accession; Avro examination_record
REJECTS = "dids.rejects"  # record-level rejects with rule codes
DLQ = "dids.dlq"  # undecodable messages: original bytes, error in headers
SUBMISSIONS = "dids.submissions"  # compacted, key submission_id; Avro submission_manifest
OPTOUT = "dids.optout"  # compacted, key hashed NHS number; Avro optout_change (national data opt-out)
LINKAGE = "dids.linkage"  # compacted, key site_code|accession; Avro linkage_pseudonym (with a linkage key only)
# the stream's verdict on each HL7 event, for the listener's application ACK: key event_id; Avro
# examination_feedback (rule codes, never a patient value); kept a day: a verdict is wanted within seconds
FEEDBACK = "dids.feedback"

_DAY_MS = 24 * 3600 * 1000
_COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}


class TopicError(DidsError):
    """Topics could not be created or have the wrong shape."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    config: dict[str, str] = field(default_factory=dict)


def compacted_config() -> dict[str, str]:
    return dict(_COMPACTED)


def changelog_config() -> dict[str, str]:
    """The lifecycle table's changelog: compacted, and an overwritten value (a withdrawn person's scrubbed
    state, streams.erasure) physically gone within a day, where a plain compacted topic may keep it for ever."""
    return {**_COMPACTED, "max.compaction.lag.ms": str(_DAY_MS), "segment.ms": str(_DAY_MS)}


def changelog_topic(settings: Settings) -> str:
    """Faust names a table's changelog <app id>-<table>-changelog; it is created up front, like every topic."""
    return f"{settings.streams_app_id}-examinations-changelog"


def changelog_spec(settings: Settings) -> TopicSpec:
    return TopicSpec(changelog_topic(settings), changelog_config())


def topic_specs() -> list[TopicSpec]:
    return [
        TopicSpec(RIS_EVENTS),
        TopicSpec(CONSENT, _COMPACTED),
        TopicSpec(EXAMINATIONS, _COMPACTED),
        TopicSpec(REJECTS),
        TopicSpec(DLQ),
        TopicSpec(SUBMISSIONS, _COMPACTED),
        TopicSpec(OPTOUT, _COMPACTED),
        TopicSpec(LINKAGE, _COMPACTED),
        TopicSpec(FEEDBACK, {"retention.ms": str(_DAY_MS)}),
    ]


def ensure_topics(settings: Settings, extra: list[TopicSpec] | None = None, timeout: float = 30.0) -> list[str]:
    """Create missing topics with ``settings.topic_partitions``; fail if an existing one differs.

    Returns the names created.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    admin = admin_client(settings)
    specs = [TopicSpec(settings.topic(s.name), s.config) for s in topic_specs()] + list(extra or [])
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        admin.poll(1.0)  # serve the error callback: it logs the broker's reason (a refused login, say)
        raise TopicError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} ({exc.args[0].str()}); check DIDS_KAFKA_BOOTSTRAP "
            "and the DIDS_KAFKA_SECURITY_PROTOCOL / DIDS_KAFKA_SASL_* / DIDS_KAFKA_SSL_* settings"
        ) from exc
    wrong = [
        f"{s.name} has {len(existing[s.name].partitions)} partitions, expected {settings.topic_partitions}"
        for s in specs
        if s.name in existing and len(existing[s.name].partitions) != settings.topic_partitions
    ]
    if wrong:
        raise TopicError("; ".join(wrong) + " (set DIDS_TOPIC_PARTITIONS to match, or recreate the topics)")
    _align_configs(admin, [s for s in specs if s.name in existing and s.config], timeout)
    missing = [s for s in specs if s.name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, settings.topic_partitions, settings.topic_replication, config=s.config) for s in missing],
        operation_timeout=timeout,
    )
    for name, fut in futures.items():
        try:
            fut.result()
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise TopicError(f"creating topic {name} failed: {exc}") from exc
    log.info("created topics: %s", ", ".join(s.name for s in missing))
    return [s.name for s in missing]


def _align_configs(admin, specs: list[TopicSpec], timeout: float) -> None:
    """Give topics made by an earlier version the configs their spec has now (e.g. the changelog's
    ``max.compaction.lag.ms``, which makes a withdrawn person's older values go within a day). An
    account not allowed to read or alter topic configs gets a warning naming what to set, not a failure."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    if not specs:
        return
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, s.name) for s in specs])
    changes = []
    for spec, future in zip(specs, described.values(), strict=True):
        try:
            current = future.result(timeout=timeout)
        except Exception as exc:
            log.warning("cannot read the configs of topic %s (%s): check it has %s", spec.name, exc, spec.config)
            continue
        differing = {k: v for k, v in spec.config.items() if k not in current or current[k].value != v}
        if differing:
            entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in differing.items()]
            changes.append(ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=entries))
            log.info("topic %s: setting %s", spec.name, ", ".join(f"{k}={v}" for k, v in differing.items()))
    if not changes:
        return
    for name, future in admin.incremental_alter_configs(changes).items():
        try:
            future.result(timeout=timeout)
        except Exception as exc:
            log.warning("cannot update the configs of topic %s (%s): an operator should set them", name, exc)
