"""Tagging whole archives: resumable, idempotent, on local worker processes or a Dask cluster (no Qt).

    report = run_batch(BatchOptions(roots=["/archive"], out=Path("/results"), workers=4))

`walk` finds the recordings, `ledger` decides from the results folder what is already done, `task` is the
per-file function every backend runs, `backends` holds the local pool and the Dask client, `summary`
writes the archive's table.
"""

from .runner import BatchOptions, BatchReport, Tally, run_batch
from .walk import DEFAULT_INCLUDE, parse_include, walk

__all__ = ["DEFAULT_INCLUDE", "BatchOptions", "BatchReport", "Tally", "parse_include", "run_batch", "walk"]
