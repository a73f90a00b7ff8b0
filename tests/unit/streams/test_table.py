"""One RocksDB memory budget for all a worker's databases (streams.runtime.table), on Faust's own store.

Faust's defaults (a 2 GB block cache and three 64 MB write buffers per partition's database) let the
worker's memory grow with every examination it read back, and with every partition it held.
"""

from __future__ import annotations

import os

import faust

from streams.runtime.table import BLOCK_CACHE_BYTES, MEMTABLE_BYTES, lifecycle_table


def rocksdb_table(tmp_path, partitions=4):
    app = faust.App("table-test", store="rocksdb://", datadir=str(tmp_path), autodiscover=False)
    app.conf.topic_partitions = partitions
    return lifecycle_table(app)


def test_every_partition_database_shares_one_cache_of_the_budgets_size(tmp_path):
    store = rocksdb_table(tmp_path).data
    databases = [store._db_for_partition(p) for p in range(4)]
    for db in databases:
        assert db.property_int_value("rocksdb.block-cache-capacity") == BLOCK_CACHE_BYTES
    first, second = databases[0], databases[1]
    for n in range(3000):
        first[f"RA1|{n}".encode()] = b"x" * 2000
    first.flush()
    for n in range(3000):  # read back from the files: the blocks go to the cache
        assert first[f"RA1|{n}".encode()] == b"x" * 2000
    used = first.property_int_value("rocksdb.block-cache-usage")
    assert used > 1 << 20
    assert second.property_int_value("rocksdb.block-cache-usage") == used  # one cache, not one each


def test_memtables_are_counted_against_one_budget_across_partitions(tmp_path):
    store = rocksdb_table(tmp_path).data
    budget = store.rocksdb_options.memtables
    assert budget.get_buffer_size() == MEMTABLE_BYTES
    for partition in range(4):
        db = store._db_for_partition(partition)
        for n in range(500):
            db[f"RA{partition}|{n}".encode()] = b"y" * 2000
    written = sum(store._db_for_partition(p).property_int_value("rocksdb.cur-size-all-mem-tables") for p in range(4))
    assert budget.get_usage() >= written > 4 * 500 * 2000  # the manager sees every database's memtables


def test_writing_past_the_budget_flushes_instead_of_growing(tmp_path):
    store = rocksdb_table(tmp_path).data
    dbs = [store._db_for_partition(p) for p in range(4)]
    for n in range(3 * MEMTABLE_BYTES // 4000):  # three budgets' worth, each partition's share under its buffer
        dbs[n % 4][f"RA1|{n}".encode()] = os.urandom(4000)  # random: the files hold what was written
    # the memtables still taking writes: the rest was switched out to be flushed (how fast those flushes
    # finish is the machine's, so they are not counted here)
    active = sum(db.property_int_value("rocksdb.cur-size-active-mem-table") for db in dbs)
    assert active <= MEMTABLE_BYTES


def test_the_memory_store_is_left_as_faust_builds_it(tmp_path):
    app = faust.App("table-test-memory", store="memory://", datadir=str(tmp_path), autodiscover=False)
    assert not hasattr(lifecycle_table(app).data, "rocksdb_options")
