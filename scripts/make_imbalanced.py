"""Make an imbalanced copy of a labelled CSV: keep a seeded fraction of one class's rows.

For measuring `--class-weight` and `--select-metric` (docs/imbalance-and-calibration.md), e.g.
keeping 10% of MR's negative training reviews:

    python scripts/make_imbalanced.py MR/train.csv OUT/train.csv --label negative --keep 0.1

The other classes' rows are all kept, in their order; the output file must not exist yet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def make_imbalanced(data: pd.DataFrame, *, label_column: str, label: str, keep: float, seed: int) -> pd.DataFrame:
    """`data` with only a `keep` share (seeded draw, at least one row) of the rows labelled `label`."""
    labels = data[label_column].astype(str)
    if label not in set(labels):
        raise ValueError(f"no row has the label {label!r} (labels: {', '.join(sorted(set(labels)))})")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"--keep must be in (0, 1], not {keep}")
    rows = np.flatnonzero(labels.to_numpy() == label)
    kept = np.random.default_rng(seed).choice(rows, size=max(1, round(keep * len(rows))), replace=False)
    mask = labels.to_numpy() != label
    mask[kept] = True
    return data[mask].reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="labelled CSV (e.g. MR's train.csv)")
    parser.add_argument("output", type=Path, help="CSV to write (outside the repository)")
    parser.add_argument("--label", required=True, help="the class to shrink")
    parser.add_argument("--keep", type=float, default=0.1, help="share of that class's rows kept (default 0.1)")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.output.exists():
        parser.error(f"{args.output} exists; choose a new file")
    data = pd.read_csv(args.source, dtype={args.label_column: str}, keep_default_na=False)
    try:
        smaller = make_imbalanced(
            data, label_column=args.label_column, label=args.label, keep=args.keep, seed=args.seed
        )
    except ValueError as error:
        parser.error(str(error))
    smaller.to_csv(args.output, index=False)
    counts = smaller[args.label_column].value_counts().to_dict()
    print(f"wrote {len(smaller)} rows to {args.output}: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
