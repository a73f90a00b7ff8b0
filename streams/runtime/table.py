"""The lifecycle table's definition, and one RocksDB memory budget for all the databases a worker opens.

Faust opens a RocksDB database per source partition a worker holds, each with its own block cache and
write buffers sized per database (its defaults: a 2 GB cache and three 64 MB buffers, for servers). A
worker holding more partitions would then hold more memory. Here a worker's databases share one block
cache and one write-buffer manager, so its RocksDB memory is bounded whatever partitions it holds:
``BLOCK_CACHE_BYTES`` of blocks read back, memtables flushed once they pass ``MEMTABLE_BYTES`` in all
(plus index and filter blocks, ~10 MB a million examinations).
"""

from __future__ import annotations

from typing import Any

import faust
import rocksdict
from faust.stores.rocksdb import RocksDBOptions

BLOCK_CACHE_BYTES = 32 << 20
MEMTABLE_BYTES = 64 << 20
# a database's memtable may grow to half the budget before it is flushed on its own: with the worker's
# usual two partitions, 8 MB buffers flushed four times as often (a million examinations: 0.44 against
# 0.41 worker CPU-ms an event, one run each)
WRITE_BUFFER_BYTES = MEMTABLE_BYTES // 2


class SharedBudget(RocksDBOptions):
    """Faust's RocksDB options, with the block cache and the write-buffer manager shared by every database
    opened through this object (one per table store)."""

    def __init__(self, **options: Any) -> None:
        # block_cache_size: only for the per-database cache Faust's ``as_options`` makes and ours replaces
        super().__init__(
            write_buffer_size=WRITE_BUFFER_BYTES,
            max_write_buffer_number=2,
            block_cache_size=BLOCK_CACHE_BYTES,
            **options,
        )
        self.cache = rocksdict.Cache(BLOCK_CACHE_BYTES)
        self.memtables = rocksdict.WriteBufferManager(MEMTABLE_BYTES, False)  # flush over budget, never stall

    def as_options(self) -> rocksdict.Options:
        options = super().as_options()
        blocks = rocksdict.BlockBasedOptions()  # as Faust's, but on the shared cache
        blocks.set_bloom_filter(self.bloom_filter_size, True)
        blocks.set_block_cache(self.cache)
        blocks.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(blocks)
        options.set_write_buffer_manager(self.memtables)
        return options


def lifecycle_table(app: faust.App) -> faust.Table:
    """The lifecycle table: one entry per examination ever seen (and per person, ``streams.erasure``),
    keyed by the JSON of the record key, on its source event's partition."""
    table = app.Table(
        "examinations",
        default=None,
        partitions=app.conf.topic_partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )
    store = table.data  # built here (Faust builds it on first use) so that it opens its databases in budget
    if hasattr(store, "rocksdb_options"):
        store.rocksdb_options = SharedBudget(use_rocksdict=True)  # streams.runtime.state writes through rocksdict
    return table
