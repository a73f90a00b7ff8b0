"""Hand-made warehouse rows for tests that seed ClickHouse directly (views, report, dashboards),
and a migrated database to put them in. One place, so a new NOT NULL column is added once."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sinks.clickhouse import connect
from sinks.migrate import migrate

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc)
CT, XR = "Computerized axial tomography", "Plain radiography"


def exam(
    acc, *, provider="RAA", test_date=date(2026, 10, 15), modality=XR, version=1, received=T0, submission=None, **extra
):
    """One examinations row (an accepted version) of ``acc`` at the provider's site ``<provider>01``."""
    row = {
        "record_key": f"{provider}01|{acc}",
        "site_code": f"{provider}01",
        "accession_number": acc,
        "version": version,
        "status": "active",
        "event_id": f"{acc}-{version}",
        "event_type": "performed",
        "event_time": received,
        "received_time": received,
        "processed_time": received,
        "source": "extract" if submission else "ris",
        "submission_id": submission,
        "provider_code": provider,
        "provider_name": f"{provider} <Trust> & Co",  # markup in a name: the report must escape it
        "region_id": "Y56",
        "diagnostic_test_date": test_date,
        "first_test_date": test_date,
        "modality": modality,
        "patient_source_setting": "01",
        "warnings": [],  # an array column the inserts name (None is no array)
        "kafka_topic": "t",
        "kafka_partition": 0,
        "kafka_offset": 0,
    }
    return row | extra


def reject(acc, rules, *, provider="RAA", test_date=date(2026, 10, 20), received=T0, warnings=()):
    """One rejects row: ``acc`` rejected for ``rules``."""
    return {
        "record_key": f"{provider}01|{acc}",
        "site_code": f"{provider}01",
        "accession_number": acc,
        "version": 1,
        "event_id": f"{acc}-1",
        "event_type": "performed",
        "event_time": received,
        "received_time": received,
        "processed_time": received,
        "source": "ris",
        "provider_code": provider,
        "diagnostic_test_date": test_date,
        "rejects": list(rules),
        "warnings": list(warnings),
        "not_checked": [],
        "kafka_topic": "r",
        "kafka_partition": 0,
        "kafka_offset": 0,
    }


def migrated(settings):
    """A client on a freshly migrated database, with ``put(table, rows)`` and ``database``."""
    migrate(settings)
    client = connect(settings)

    def put(table, rows):
        names = list(dict.fromkeys(n for r in rows for n in r))
        client.insert(table, [[r.get(n) for n in names] for r in rows], column_names=names)

    client.put = put
    client.database = settings.clickhouse_database
    return client
