"""The columnar core: cleansing, the national rules and the derivations over a batch of records.

Per-record Python cost hundreds of microseconds an examination in per-rule overhead; the same rules as
column expressions (polars) cost well under one. ``engine.judge`` gives the verdict of a batch;
``checks`` holds one expression per national rule code; ``lookups`` joins reference-data answers per
distinct key; ``dates`` and ``cleansing`` are the batch forms of ``streams.formats`` and
``streams.cleanse``.
"""
