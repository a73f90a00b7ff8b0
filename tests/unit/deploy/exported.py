"""Every series the services can export: what alert rules and dashboards may use (their two tests).

It loads every module that defines process-wide metrics, so it lives here, beside the tests that
need it, and not in the shared kernel (which imports no stage).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry

# every module that defines process-wide metrics (the warehouse keeps its own registry)
METRIC_MODULES = (
    "dids.kernel.producer",
    "producers.hl7.listener",
    "streams.runtime.agents",
    "streams.runtime.consent",
    "streams.runtime.watchdog",
    "sinks.metrics",
)


def exported_metrics(registries: Iterable[CollectorRegistry] = ()) -> dict[str, str]:
    """Every series name the services can export, with its type: what alert rules and dashboards may use.

    A histogram ``x`` exports ``x_bucket``, ``x_sum`` and ``x_count``; a counter ``x`` exports ``x_total``.
    """
    from deploy.warehouse.metrics import Metrics

    for module in METRIC_MODULES:
        importlib.import_module(module)
    names: dict[str, str] = {}
    for registry in (REGISTRY, Metrics().registry, *registries):
        for family in registry.collect():
            if not family.name.startswith("dids_"):
                continue
            if family.type == "counter":
                names[family.name + "_total"] = "counter"
            elif family.type == "histogram":
                for suffix in ("_bucket", "_sum", "_count"):
                    names[family.name + suffix] = "histogram"
            else:
                names[family.name] = family.type
    return names
