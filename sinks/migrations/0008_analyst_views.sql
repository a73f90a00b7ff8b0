-- What the read-only analyst account reads (the embedded warehouse allows it nothing else; on a
-- ClickHouse server grant SELECT on these views only: README "Security"). Row-level records are
-- pseudonymised already (person_id); here they also lose the accession number, the record key and
-- the Kafka and event identifiers that would tie a row back to a RIS entry.
CREATE VIEW IF NOT EXISTS {db}.analyst_examinations AS
SELECT * EXCEPT (record_key, accession_number, event_id, kafka_topic, kafka_partition, kafka_offset)
FROM {db}.current_examinations;
