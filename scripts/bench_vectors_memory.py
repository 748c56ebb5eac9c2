"""Benchmark: peak memory of loading a >= 1 GB word-vectors file for a 20k-word vocabulary.

Writes a text vectors file (300-d by default, unique words, one pre-formatted row of values
repeated, so it is quick to build) into a temporary directory, then loads it for a vocabulary of
`--vocab` words (three quarters present in the file, spread over it, one quarter absent) in a
fresh interpreter and reports that interpreter's peak RSS. The target is < 1 GB: memory must
follow the vocabulary, not the file. Not a timed test; needs ~1.1 GB of free disk.

    python -m scripts.bench_vectors_memory                 # 1.1 GB text file, 20k vocabulary
    python -m scripts.bench_vectors_memory --size-gb 2 --binary --gzip
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench.processes import child_env, module_command

TARGET_BYTES = 1 << 30  # 1 GiB peak RSS
MODULE = "scripts.bench_vectors_memory"


def word(i: int) -> str:
    return f"w{i:08d}"


def write_file(path: Path, *, size_bytes: int, dim: int, binary: bool, compress: bool) -> int:
    """Write vectors until the uncompressed payload reaches `size_bytes`; return the row count."""
    rng = np.random.default_rng(0)
    values = rng.normal(scale=0.2, size=dim).astype(np.float32)
    text_row = (" " + " ".join(f"{v:.6f}" for v in values) + "\n").encode()
    binary_row = b" " + values.astype("<f4").tobytes() + b"\n"
    row_size = len(word(0)) + len(binary_row if binary else text_row)
    rows = size_bytes // row_size + 1
    with gzip.open(path, "wb", compresslevel=1) if compress else path.open("wb") as out:
        if binary:
            out.write(f"{rows} {dim}\n".encode())
        block = 4096
        for start in range(0, rows, block):
            tail = binary_row if binary else text_row
            out.write(b"".join(word(i).encode() + tail for i in range(start, min(start + block, rows))))
    return rows


def load(path: str, rows: int, vocab_size: int) -> None:
    """Child process: import textcnn as training does, then load the vectors; print JSON."""
    from textcnn.embeddings.vectors import load_vectors

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    present = vocab_size * 3 // 4
    step = max(rows // present, 1)
    vocab = {"[PAD]": 0, "[UNK]": 1}
    for i in range(present):
        vocab[word(i * step)] = len(vocab)
    while len(vocab) < vocab_size + 2:
        vocab[f"absent{len(vocab)}"] = len(vocab)
    started = time.perf_counter()
    vectors = load_vectors(path, vocab, vocab_size=len(vocab), special_tokens={"[PAD]", "[UNK]"})
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "rows_read": vectors.rows_read,
        "found": vectors.found_count,
        "vocab": vectors.vocab_count,
        "matrix_mb": vectors.matrix.nbytes / 2**20,
        "seconds": round(seconds, 2),
        "rss_after_imports_mb": round(baseline / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
    }
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.1, help="uncompressed size of the file (GB, 1e9 bytes)")
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--vocab", type=int, default=20_000)
    parser.add_argument("--binary", action="store_true", help="word2vec binary instead of text")
    parser.add_argument("--gzip", action="store_true", help="gzip the file (slower to build)")
    parser.add_argument("--dir", default=None, help="where to build the file (default: a temporary directory)")
    parser.add_argument("--load", nargs=3, metavar=("PATH", "ROWS", "VOCAB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args.load[0], int(args.load[1]), int(args.load[2]))
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="textcnn-bench-vectors-") as scratch:
        path = Path(scratch) / ("vectors.bin" if args.binary else "vectors.txt")
        if args.gzip:
            path = path.with_suffix(path.suffix + ".gz")
        started = time.perf_counter()
        rows = write_file(
            path, size_bytes=int(args.size_gb * 1e9), dim=args.dim, binary=args.binary, compress=args.gzip
        )
        size = path.stat().st_size
        print(f"wrote {path.name}: {rows} rows x {args.dim}-d, {size / 1e9:.2f} GB on disk "
              f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
        child = subprocess.run(
            module_command(MODULE, "--load", str(path), str(rows), str(args.vocab)),
            check=True,
            capture_output=True,
            text=True,
            env=child_env(),
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"loaded {result['found']}/{result['vocab']} vocabulary words from {result['rows_read']} rows "
        f"in {result['seconds']}s; matrix {result['matrix_mb']:.1f} MB; RSS after imports "
        f"{result['rss_after_imports_mb']} MB, peak RSS {result['peak_rss_mb']} MB "
        f"(target < {TARGET_BYTES / 2**20:.0f} MB)"
    )
    return 0 if result["peak_rss_mb"] * 2**20 < TARGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
