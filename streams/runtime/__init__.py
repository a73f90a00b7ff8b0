"""The stream worker's runtime: the Faust app and its agents (thin wiring around ``streams.process``),
the consent registry that follows ``dids.consent``, the watchdog, crash-only stops, Faust fixes and
the table's data directory. Everything outside this package is pure: it runs without a broker."""
