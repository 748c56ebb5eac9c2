"""Set-up of the heavy libraries, done by each command when it first needs them (not at start-up)."""

from __future__ import annotations


def quiet_datasets() -> None:
    """No progress bars, and no error log of `datasets`' own: read errors reach the user as one
    `Error:` line, which that log would repeat."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
