"""Erasing a withdrawn person from the lifecycle table (pure parts and the purge command, on a dict)."""

from __future__ import annotations

import json
from datetime import timedelta

from schemas.catalog import EXAMINATION_RECORD
from streams.erasure import PURGE_HEADER, index_key, is_index_key, is_scrubbed, purge_command
from streams.evaluate import StreamContext
from streams.process import process_event
from streams.runtime.agents import erase_person, index_person
from tests.unit.streams.test_lifecycle import CATALOG, CTX, NOW, _performed

NHS = "9434765919"
PID = CTX.pseudonymiser.person_id(NHS)


class DictState(dict):
    """The lifecycle table as ``LifecycleState`` reads and writes it, over a dict (one partition)."""

    def get(self, key, partition=0):
        return dict.get(self, key)

    def put(self, key, partition, value):
        self[key] = value

    def delete(self, key, partition):
        del self[key]


def _ctx(withdrawn: set[str]) -> StreamContext:
    return StreamContext(refdata=CTX.refdata, pseudonymiser=CTX.pseudonymiser, is_withdrawn=withdrawn.__contains__)


def _identifiers(event) -> list[str]:
    values = [event["nhs_number"], event["postcode"], event["person_birth_date"], PID]
    return [v for v in values if v]


def _key(event) -> str:
    return f"{event['site_code_imaging']}|{event['radiological_accession_num']}"


def test_a_withdrawn_persons_event_is_stored_scrubbed():
    event = _performed(nhs_number=NHS)
    routed = process_event(CATALOG, _ctx({PID}), event, None, NOW)
    assert routed.verdict.kind == "withdrawn" and routed.examination is None
    stored = json.dumps(routed.state)
    assert is_scrubbed(routed.state)
    assert [v for v in _identifiers(event) if v in stored] == []


def test_a_purge_scrubs_the_states_its_index_lists_and_only_the_persons():
    table = DictState()
    mine, other = _performed(nhs_number=NHS), _performed(nhs_number="9990000018", radiological_accession_num="ZZ9")
    for event in (mine, other):
        routed = process_event(CATALOG, _ctx(set()), event, None, NOW)
        table[_key(event)] = routed.state
        index_person(table, _key(event), routed.state, 0)
    entry = index_key(PID, 0)
    assert table[entry] == [_key(mine)]
    table[entry].append(_key(other))  # a stale entry (the accession was reused for another patient)

    assert erase_person(table, _ctx(set()), PID, 0) == 0  # forged: the person is not withdrawn
    assert not is_scrubbed(table[_key(mine)])

    assert erase_person(table, _ctx({PID}), PID, 0) == 1
    assert entry not in table
    assert is_scrubbed(table[_key(mine)]) and not is_scrubbed(table[_key(other)])
    assert [v for v in _identifiers(mine) if v in json.dumps(table[_key(mine)])] == []
    assert PID not in json.dumps(table)


def test_a_scrubbed_examination_stays_withdrawn_until_a_full_record_names_the_person_again():
    first = _performed(nhs_number=NHS)
    state = process_event(CATALOG, _ctx(set()), first, None, NOW).state
    published_version = state["version"]
    table = DictState({_key(first): state, index_key(PID, 0): [_key(first)]})
    erase_person(table, _ctx({PID}), PID, 0)
    scrubbed = table[_key(first)]

    # a report that does not name the person: nothing published, nothing rejected, still scrubbed
    report = {k: None for k in first if k not in ("event_id", "event_type", "event_time", "received_time")}
    report.update(
        event_id="r1",
        event_type="reported",
        event_time=first["event_time"] + timedelta(hours=1),
        received_time=first["received_time"] + timedelta(hours=1),
        site_code_imaging=first["site_code_imaging"],
        radiological_accession_num=first["radiological_accession_num"],
        source=first["source"],
        service_report_date=first["diagnostic_test_date"],
    )
    routed = process_event(CATALOG, _ctx(set()), report, scrubbed, NOW)
    assert routed.examination is None and routed.reject is None and is_scrubbed(routed.state)

    # consent reinstated, the RIS sends the full record again: published, above the earlier version
    again = dict(first, event_id="c1", event_type="corrected", event_time=first["event_time"] + timedelta(hours=2))
    routed = process_event(CATALOG, _ctx(set()), again, routed.state, NOW)
    record = CATALOG.decode(routed.examination.value, EXAMINATION_RECORD)
    assert record["status"] == "active" and record["version"] > published_version
    assert not is_scrubbed(routed.state)


def test_purge_commands_are_empty_messages_with_the_header():
    header = [(PURGE_HEADER, PID.encode())]
    assert purge_command(b"", header) == PID
    assert purge_command(None, {PURGE_HEADER: PID.encode()}) == PID
    assert purge_command(b"\x00avro event", header) is None  # a header on a real event does not make it a purge
    assert purge_command(b"", [("other", b"x")]) is None
    assert purge_command(b"", [(PURGE_HEADER, b"")]) is None


def test_index_keys_never_collide_with_record_keys():
    assert is_index_key(index_key(PID, 3))
    assert not is_index_key("RA1|person:x:0")
    assert not is_index_key("person:site|ACC1")  # a hostile site code is still a record key
