"""The lifecycle table read once and written once per batch of keys.

Through Faust's table API every key costs Python work: a read walks each partition's RocksDB in turn
(the agent is past its batch's events, so no partition is current), and a write encodes the value twice
(store and changelog) and queues its changelog record through aiokafka, one Python send each. Here
a batch's keys are read with one multi-get per partition, its writes are gathered (a key's last value
wins), and each partition's are then written to the store at once (one RocksDB ``WriteBatch``) and to
the changelog through the worker's confluent-kafka producer (``streams.runtime.outputs``), which
batches in C.

The changelog records are Faust's own: the key and value JSON-encoded by Faust's codec, a deletion a
record without a value, on the changelog partition of the key's source partition. So recovery is Faust's,
unchanged: on start (or when a partition moves) it replays the changelog from the offset persisted in
each partition's store. That offset is persisted only once the records are acknowledged (``persist``,
after the outputs' flush), as Faust does for each record; a kill before it replays a little more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import faust
from faust.types import TP
from faust.utils import json as faust_json
from rocksdict import WriteBatch

from streams.runtime.outputs import Outputs

State = dict[str, Any] | list[str]  # an examination's state, or a person's index entry (streams.erasure)


def _encode(value: Any) -> bytes:
    """What the table's "json" serializer writes: Faust's dumps, which gives bytes with orjson, text without."""
    data = faust_json.dumps(value)
    return data if isinstance(data, bytes) else data.encode()


class LifecycleState:
    """One worker's view of its lifecycle table for a batch: ``load``, ``get``, ``put``/``delete``,
    then ``write``; ``persist`` once the outputs are flushed."""

    def __init__(self, table: faust.Table, outputs: Outputs):
        self._table = table
        self._outputs = outputs
        self._read: dict[str, State | None] = {}  # values read (and written) in this batch, by key
        self._pending: dict[int, dict[str, State | None]] = defaultdict(dict)  # partition -> key -> value
        self._acked: dict[int, int] = {}  # changelog partition -> highest acknowledged offset
        self._changelog: str | None = None

    # ---- reads ----

    def load(self, wanted: Iterable[tuple[str, int]]) -> None:
        """Read every (key, partition) not yet read in this batch: one multi-get per partition."""
        by_partition: dict[int, list[str]] = defaultdict(list)
        for key, partition in wanted:
            if key not in self._read:
                self._read[key] = None
                by_partition[partition].append(key)
        for partition, keys in by_partition.items():
            for key, value in zip(keys, self._store_get(partition, keys), strict=True):
                self._read[key] = value

    def get(self, key: str, partition: int) -> State | None:
        """The key's value as of this batch's writes (read from the store the first time)."""
        if key not in self._read:
            self.load([(key, partition)])
        return self._read[key]

    # ---- writes ----

    def put(self, key: str, partition: int, value: State) -> None:
        self._read[key] = value
        self._pending[partition][key] = value

    def delete(self, key: str, partition: int) -> None:
        self._read[key] = None
        self._pending[partition][key] = None

    def write(self) -> int:
        """Each partition's gathered writes to the store at once and to the changelog (sent, not yet
        acknowledged: the agent flushes the outputs before it takes the next batch). Starts a new batch."""
        written = 0
        topic = self._changelog_topic()
        for partition, values in self._pending.items():
            encoded = [(_encode(key), None if value is None else _encode(value)) for key, value in values.items()]
            self._store_write(partition, values, encoded)
            for key, value in encoded:
                self._outputs.send(topic, key, value, partition=partition, on_delivery=self._delivered)
            written += len(encoded)
        self._pending.clear()
        self._read.clear()
        return written

    def persist(self) -> None:
        """Record in each partition's store the changelog offset it holds everything up to (call after
        the outputs' flush: only acknowledged records count)."""
        store = self._table.data
        for partition, offset in self._acked.items():
            store.set_persisted_offset(TP(self._changelog_topic(), partition), offset)
        self._acked.clear()

    def _delivered(self, err, msg) -> None:
        if err is None:  # a failed send stops the worker at the flush (streams.runtime.outputs)
            partition = msg.partition()
            self._acked[partition] = max(self._acked.get(partition, -1), msg.offset())

    def _changelog_topic(self) -> str:
        if self._changelog is None:
            self._changelog = self._table.changelog_topic.get_topic_name()
        return self._changelog

    # ---- the store: Faust's RocksDB store (a database per partition, keys and values as the changelog
    # has them), or its memory store (one dict, keys and values decoded) ----

    def _store_get(self, partition: int, keys: list[str]) -> list[State | None]:
        store = self._table.data
        if not hasattr(store, "_db_for_partition"):
            return [store.data.get(key) for key in keys]
        raw = store._db_for_partition(partition).get([_encode(key) for key in keys])
        return [None if value is None else faust_json.loads(value) for value in raw]

    def _store_write(
        self, partition: int, values: dict[str, State | None], encoded: list[tuple[bytes, bytes | None]]
    ) -> None:
        store = self._table.data
        if not hasattr(store, "_db_for_partition"):
            for key, value in values.items():
                if value is None:
                    store.data.pop(key, None)
                    store._key_partition.pop(key, None)
                else:
                    store.data[key] = value
                    store._key_partition[key] = partition
            return
        batch = WriteBatch(raw_mode=True)
        for key, value in encoded:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        store._db_for_partition(partition).write(batch)
