"""Reference data: the Protocols the rules read (protocols.py), in-memory tables (memory.py), loaders."""
