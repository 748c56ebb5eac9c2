"""Benchmark CPU inference batches capped by tokens against batches of a fixed 256 texts.

`textcnn.inference` caps each CPU batch at `cpu_batch_tokens(config)` padded tokens, so that its
convolution outputs stay under `CPU_BATCH_ACTIVATIONS` values. This measures what the cap buys,
per model shape, on random token ids (the work does not depend on trained weights):

- `token cap`: `predict_logits` as the library runs it on a CPU;
- `256 texts`: the same call with `max_batch_tokens=None`, every batch 256 texts (the behaviour
  before the cap).

Each variant runs in a fresh subprocess, so its peak RSS is its own; rounds alternate the variants
(a noisy machine hurts both alike) and each keeps its best rate. Lengths are uniform between half
and all of the shape's `max_length` tokens.

    OMP_NUM_THREADS=2 python -m scripts.bench_predict_batches --rounds 3
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import time

from scripts.bench.processes import child_env, module_command

#: name -> (num_filters, max_length, texts): a document-size model, Kim's sizes on long texts, sentences.
SHAPES = {
    "documents: 300 filters, 512 tokens": (300, 512, 2000),
    "Kim's sizes, 256 tokens": (100, 256, 4000),
    "sentences: 100 filters, 24 tokens": (100, 24, 30000),
}
VARIANTS = {"token cap": "auto", "256 texts": None}
VOCAB_SIZE = 50_000
MODULE = "scripts.bench_predict_batches"


def measure(num_filters: int, max_length: int, texts: int, max_batch_tokens: str | None) -> dict[str, float]:
    """Texts/s of one `predict_logits` call and the peak RSS growth it caused (this process)."""
    import numpy as np
    import torch

    from textcnn.config import ModelConfig
    from textcnn.inference import predict_logits
    from textcnn.model import TextCNN

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=VOCAB_SIZE, num_classes=2, num_filters=num_filters, max_length=max_length)
    model = TextCNN(config).eval()
    rng = np.random.default_rng(0)
    sizes = rng.integers(max(1, max_length // 2), max_length + 1, size=texts)
    sequences = [rng.integers(2, VOCAB_SIZE, size=size).tolist() for size in sizes]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    predict_logits(model, [s[:8] for s in sequences[:8]])  # warm-up of one-off setup costs, with small buffers
    started = time.perf_counter()
    predict_logits(model, sequences, max_batch_tokens=max_batch_tokens)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"texts_per_s": texts / seconds, "peak_growth_mb": (peak - before) / 1024}


def run_in_subprocess(shape: str, variant: str) -> dict[str, float]:
    command = module_command(MODULE, "--worker", json.dumps([shape, variant]))
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=child_env())
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="subprocess runs per variant; the best rate is kept")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        shape, variant = json.loads(args.worker)
        print(json.dumps(measure(*SHAPES[shape], VARIANTS[variant])))
        return
    import torch

    from textcnn.config import ModelConfig
    from textcnn.inference import cpu_batch_tokens

    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), best of {args.rounds} rounds\n")
    print(
        "| model and texts | tokens per batch (cap) | token cap: texts/s | 256 texts: texts/s | speed ratio | "
        "token cap: peak RSS growth MB | 256 texts: peak RSS growth MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for shape, (num_filters, _, _) in SHAPES.items():
        runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
        for _ in range(args.rounds):
            for variant in VARIANTS:
                runs[variant].append(run_in_subprocess(shape, variant))
        rate = {v: max(r["texts_per_s"] for r in runs[v]) for v in VARIANTS}
        growth = {v: min(r["peak_growth_mb"] for r in runs[v]) for v in VARIANTS}
        cap = cpu_batch_tokens(ModelConfig(vocab_size=VOCAB_SIZE, num_classes=2, num_filters=num_filters))
        print(
            f"| {shape} | {cap:,} | {rate['token cap']:,.0f} | {rate['256 texts']:,.0f} | "
            f"{rate['token cap'] / rate['256 texts']:.2f} | {growth['token cap']:,.0f} | {growth['256 texts']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
