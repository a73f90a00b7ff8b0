"""The lifecycle table read and written once a batch (streams.runtime.state), on Faust's own stores.

What a batch writes must be what Faust's table API reads back (the purge timer and recovery use it), and its
changelog records must be Faust's own: JSON key and value, a deletion without a value, on the key's partition.
"""

from __future__ import annotations

import json

import faust
import pytest

from streams.runtime.state import LifecycleState
from streams.runtime.table import lifecycle_table


class Sent:
    """Stands in for the worker's producer: what would go to the changelog (Kafka itself is tested in
    tests/integration/test_streams_restart.py and test_consent_stored.py)."""

    def __init__(self):
        self.records = []

    def send(self, topic, key, value, partition=None, on_delivery=None):
        self.records.append((topic, key, value, partition))


@pytest.fixture(params=["memory", "rocksdb"])
def table(request, tmp_path):
    app = faust.App(
        f"state-test-{request.param}",
        store=f"{request.param}://",
        datadir=str(tmp_path),
        autodiscover=False,
        topic_partitions=2,
    )
    return lifecycle_table(app)


def test_a_batch_writes_each_key_once_where_faust_reads_it(table):
    sent = Sent()
    state = LifecycleState(table, sent)
    state.load([("RA1|A1", 0), ("RA1|A2", 1)])
    assert state.get("RA1|A1", 0) is None
    state.put("RA1|A1", 0, {"version": 1})
    state.put("RA1|A1", 0, {"version": 2})  # the last value of a key in the batch wins
    state.put("RA1|A2", 1, {"version": 7})
    state.put("person:p:1", 1, ["RA1|A2"])
    assert state.write() == 3

    topic = table.changelog_topic.get_topic_name()
    logged = {key: (t, json.loads(value), partition) for t, key, value, partition in sent.records}
    assert logged == {  # one record a key: the JSON the table's serializer writes, on the key's partition
        b'"RA1|A1"': (topic, {"version": 2}, 0),
        b'"RA1|A2"': (topic, {"version": 7}, 1),
        b'"person:p:1"': (topic, ["RA1|A2"], 1),
    }
    assert table.get("RA1|A1") == {"version": 2} and table.get("person:p:1") == ["RA1|A2"]

    # the next batch reads them back, and a deletion removes the key and logs a tombstone
    again = LifecycleState(table, sent)
    assert again.get("RA1|A2", 1) == {"version": 7}
    again.delete("person:p:1", 1)
    again.write()
    assert table.get("person:p:1") is None
    assert sent.records[-1] == (topic, b'"person:p:1"', None, 1)
