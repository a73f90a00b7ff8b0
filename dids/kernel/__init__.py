"""The shared kernel: what every stage (producers/, streams/, sinks/) and the CLI share, and nothing
else. The contract between the stages (topic names and specs, the 18 data items, the record key and
person ids, v2 timestamps, dead-letter headers), settings, errors and secrets, the Kafka client
configuration and producer wrapper, logs, the metrics and probe server, child processes.

It imports no stage: producers/, streams/ and sinks/ import it and never one another.
"""
