"""The one root exception. Subclasses live beside the code that raises them.

The CLI maps every ``DidsError`` to a clear message and exit code 2; anything else is a bug.
"""


class DidsError(Exception):
    """Root of every error DIDS Stream raises on purpose."""


class ConfigError(DidsError):
    """A setting is missing or malformed; the message names the DIDS_* variable."""
