"""The tests' present: a fixed instant, so no test depends on the day it runs.

Generated data (test dates, waits, submission times) are built back from this instant, and the
events carry it as their received time, so the national date rules see the same "today" wherever
and whenever the suite runs. ``DIDS_TEST_NOW`` moves it to check the calendar's edges, e.g.
``DIDS_TEST_NOW=2028-02-29T08:00:00+00:00 pytest tests/integration/test_last_good_file.py``
(the first, second and last day of a month and a leap day are the cases that broke before).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

_DEFAULT = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def simulated_now() -> datetime:
    value = os.environ.get("DIDS_TEST_NOW")
    if not value:
        return _DEFAULT
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


NOW = simulated_now()
