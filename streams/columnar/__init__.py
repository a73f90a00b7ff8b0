"""The columnar core: cleansing, the national rules and the derivations over a batch of records.

Per-record Python cost hundreds of microseconds an examination in per-rule overhead; the same rules as
column expressions (polars) cost well under one. ``engine.judge`` gives the verdict of a batch;
``checks`` holds one expression per national rule code; ``lookups`` joins reference-data answers per
distinct key; ``dates`` reads calendar dates as §1.3 defines them and ``cleansing`` cleanses (DIDS-RULES §1.2).
"""
