"""How a migration file becomes statements (sinks/migrate.py)."""

from __future__ import annotations

from sinks.migrate import Migration, load_migrations


def test_a_run_of_added_columns_on_one_table_is_one_alter():
    sql = """-- a comment; with a semicolon
ALTER TABLE {db}.t ADD COLUMN IF NOT EXISTS a Nullable(String);
ALTER TABLE {db}.t ADD COLUMN IF NOT EXISTS b Int32 DEFAULT 1;
ALTER TABLE {db}.u ADD COLUMN IF NOT EXISTS c String;
CREATE VIEW {db}.v AS SELECT 1;
ALTER TABLE {db}.u ADD COLUMN IF NOT EXISTS d String;
ALTER TABLE {db}.u MODIFY SETTING index_granularity = 8192;
"""
    assert Migration(1, "m", sql).statements("x") == [
        "ALTER TABLE x.t ADD COLUMN IF NOT EXISTS a Nullable(String),\n    ADD COLUMN IF NOT EXISTS b Int32 DEFAULT 1",
        "ALTER TABLE x.u ADD COLUMN IF NOT EXISTS c String",
        "CREATE VIEW x.v AS SELECT 1",
        "ALTER TABLE x.u ADD COLUMN IF NOT EXISTS d String",
        "ALTER TABLE x.u MODIFY SETTING index_granularity = 8192",
    ]


def test_every_added_column_of_the_shipped_migrations_is_still_added():
    for migration in load_migrations():
        body = "\n".join(line for line in migration.sql.splitlines() if not line.lstrip().startswith("--"))
        in_file = body.count("ADD COLUMN")
        assert sum(s.count("ADD COLUMN") for s in migration.statements("dids")) == in_file, migration.name
