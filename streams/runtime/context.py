"""Building the stream processor's context from settings: reference data, the pseudonymisation key,
the consent registry. Kept apart from the Faust wiring so `dids streams` stays a thin command."""

from __future__ import annotations

import logging
from pathlib import Path

from dids.kernel.pseudonyms import Pseudonymiser, load_pseudonymisation_key
from dids.kernel.settings import Settings
from streams.evaluate import StreamContext

log = logging.getLogger(__name__)


def load_refdata(settings: Settings):
    """The user's reference data folder; the shipped samples in demo mode; otherwise none (rules that need it
    are then reported as not checked, never passed)."""
    from streams.refdata.loaders import load_reference_data, load_samples

    if settings.refdata_dir:
        log.info("reference data from %s", settings.refdata_dir)
        return load_reference_data(Path(settings.refdata_dir))
    if settings.demo:
        log.warning("demo mode: using the shipped sample reference data (set DIDS_REFDATA_DIR for real data)")
        return load_samples()
    log.warning("no reference data (DIDS_REFDATA_DIR unset): ODS, postcode and code rules will be 'not checked'")
    return None


def build_context(settings: Settings, *, consent=None) -> StreamContext:
    pseudonymiser = Pseudonymiser(load_pseudonymisation_key(settings))
    if consent is None:
        return StreamContext(refdata=load_refdata(settings), pseudonymiser=pseudonymiser)
    return StreamContext(
        refdata=load_refdata(settings),
        pseudonymiser=pseudonymiser,
        is_withdrawn=consent.is_withdrawn,
        consent_healthy=lambda: consent.healthy,
        take_withdrawals=consent.take_new_withdrawals,
        requeue_withdrawals=consent.requeue_all,
    )
