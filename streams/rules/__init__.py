"""The national DIDS v1 data-quality rules (DIDS001-DIDS082): the rule table and what the rules share.

``registry`` holds every national code with its severity, needs and wording; the code lists live in the
module of their item group, with the per-key reference questions the rules ask (ODS roles and
successions in ``organisations`` and ``site``, code validity in ``imaging_codes``). The checks
themselves are column expressions over a batch (``streams.columnar.checks``), run by
``streams.columnar.engine`` for the stream and ``dids validate`` alike.
"""

from streams.rules.context import Context, GracePeriod
from streams.rules.registry import RECORD_RULES, RULES, Rule
from streams.rules.results import Need, Severity

UNIQUENESS_CODE = "DIDS071"  # the one rule over a whole submission

__all__ = ["RECORD_RULES", "RULES", "UNIQUENESS_CODE", "Context", "GracePeriod", "Need", "Rule", "Severity"]
