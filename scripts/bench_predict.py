"""Benchmark `textcnn predict` against a plain prediction loop: rows/s and peak RSS by input size.

A model is trained with default settings on DATA_DIR/train.csv (or taken from --model). Inputs of
each size are one text a line, built by repeating the sentences of DATA_DIR/test.csv. Each tool
runs in its own subprocess, timed end to end (start-up and model loading included, as a user sees
it; rows/s after subtracting the start-up time of a one-line run is reported too) and measured
with wait4() for its peak resident set size.

The plain loop is what one writes without thinking about speed: read lines, tokenise one batch
with the fast batch encoder, pad, run the model under `torch.no_grad()`, write JSON lines — no
length sorting, no overlap of tokenisation and inference, torch's default threads.

Usage:
    python -m scripts.bench_predict [DATA_DIR] [--model DIR] [--epochs N] [--sizes 10000,100000,1000000]
                                    [--json bench-results/predict.json] [--workdir DIR]

DATA_DIR defaults to ../shared/benchmarks/mr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from scripts.bench import processes
from scripts.bench.processes import module_command

MODULE = "scripts.bench_predict"
BASELINE_WORKER = "--plain-loop-worker"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == BASELINE_WORKER:
        model_dir, input_path, output_path, batch_size = sys.argv[2:6]
        plain_loop(model_dir, input_path, output_path, int(batch_size))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", nargs="?", default="../shared/benchmarks/mr", help="folder with train.csv, test.csv"
    )
    parser.add_argument("--model", help="an existing model directory (skips training)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: textcnn's default)")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated input sizes in lines")
    parser.add_argument("--batch-size", type=int, default=256, help="batch size of both tools")
    parser.add_argument("--json", default="bench-results/predict.json", help="where to write the results")
    parser.add_argument("--workdir", help="keep inputs/outputs here instead of a temporary folder")
    args = parser.parse_args()

    data_dir = Path(args.data_dir)
    for name in ("train.csv", "test.csv"):
        if not (data_dir / name).is_file():
            raise SystemExit(f"{data_dir / name} not found; pass the MR benchmark folder as DATA_DIR")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        report: dict[str, Any] = {"machine": machine(), "data_dir": str(data_dir), "sizes": sizes}
        if args.model:
            model_dir = Path(args.model)
        else:
            model_dir = work / "model"
            report["train_seconds"] = train(data_dir / "train.csv", model_dir, args.epochs)
            report["train_epochs"] = args.epochs or "default"
        report["model"] = str(model_dir)
        texts = read_texts(data_dir / "test.csv")
        # Start-up (imports, model loading) per tool: the fastest of three runs on a one-line input.
        startup = {"textcnn_predict": float("inf"), "plain_loop": float("inf")}
        for _ in range(3):
            for tool, m in run_both(model_dir, work, texts, 1, args.batch_size)[0].items():
                startup[tool] = min(startup[tool], m["seconds"])
        report["startup_seconds"] = startup
        results = []
        for size in sizes:
            measured, agreement = run_both(model_dir, work, texts, size, args.batch_size)
            for tool, m in measured.items():
                m["rows_per_s_after_startup"] = size / max(m["seconds"] - startup[tool], 1e-9)
            ours, plain = measured["textcnn_predict"], measured["plain_loop"]
            results.append(
                {
                    "lines": size,
                    **measured,
                    "speedup": ours["rows_per_s"] / plain["rows_per_s"],
                    "speedup_after_startup": ours["rows_per_s_after_startup"] / plain["rows_per_s_after_startup"],
                    "label_agreement": agreement,
                }
            )
            print(f"{size} lines: textcnn {ours['rows_per_s']:.0f} rows/s, plain {plain['rows_per_s']:.0f} rows/s")
        report["results"] = results
        if len(results) > 1:
            first, last = results[0], results[-1]
            report["rss_ratio_largest_vs_smallest"] = {
                tool: last[tool]["peak_rss_mib"] / first[tool]["peak_rss_mib"]
                for tool in ("textcnn_predict", "plain_loop")
            }

    print()
    print(markdown_table(report))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {out}")


def run_both(
    model_dir: Path, work: Path, texts: list[str], size: int, batch_size: int
) -> tuple[dict[str, dict[str, float]], float]:
    """Both tools on the same input of `size` lines; their measurements and label agreement."""
    input_path = work / f"input-{size}.txt"
    write_input(input_path, texts, size)
    ours_out, plain_out = work / f"textcnn-{size}.jsonl", work / f"plain-{size}.jsonl"
    predict = ["predict", str(model_dir), str(input_path), "--output", str(ours_out), "--quiet"]
    ours = measure([sys.executable, "-m", "textcnn.cli", *predict, "--batch-size", str(batch_size)], size)
    worker = [BASELINE_WORKER, str(model_dir), str(input_path), str(plain_out), str(batch_size)]
    plain = measure(module_command(MODULE, *worker), size)
    agreement = label_agreement(ours_out, plain_out)
    for path in (input_path, ours_out, plain_out):
        path.unlink()
    return {"textcnn_predict": ours, "plain_loop": plain}, agreement


def train(train_csv: Path, model_dir: Path, epochs: int | None) -> float:
    command = [sys.executable, "-m", "textcnn.cli", "train", str(train_csv), "--out", str(model_dir)]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    print("Training:", " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def read_texts(test_csv: Path) -> list[str]:
    with test_csv.open(encoding="utf-8", newline="") as handle:
        texts = [" ".join(row["text"].split()) for row in csv.DictReader(handle)]
    if not texts:
        raise SystemExit(f"{test_csv} has no texts")
    return texts


def write_input(path: Path, texts: list[str], lines: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for text in islice(cycle(texts), lines):
            handle.write(text + "\n")


def child_env() -> dict[str, str]:
    env = processes.child_env()
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def measure(command: list[str], rows: int) -> dict[str, float]:
    """Run `command`; wall seconds, rows/s and the peak RSS of that one process (wait4)."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=child_env(), stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{stderr.read().decode()[-2000:]}")
    peak_kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    return {"seconds": seconds, "rows_per_s": rows / seconds, "peak_rss_mib": peak_kib / 1024}


def label_agreement(a: Path, b: Path) -> float:
    """Share of rows whose label is the same in two JSONL outputs (a sanity check on the fast path)."""
    same = total = 0
    with a.open(encoding="utf-8") as left, b.open(encoding="utf-8") as right:
        for line_a, line_b in zip(left, right, strict=True):
            same += json.loads(line_a)["label"] == json.loads(line_b)["label"]
            total += 1
    return same / total if total else 1.0


def plain_loop(model_dir: str, input_path: str, output_path: str, batch_size: int) -> None:
    """The baseline: one batch at a time, in file order, no sorting and no overlap."""
    import torch

    from textcnn import TextCNNClassifier
    from textcnn.batching import pad_batch
    from textcnn.tokenization import encode_batch

    classifier = TextCNNClassifier.load(model_dir)
    model, tokenizer = classifier.model_.eval(), classifier.tokenizer_
    classes = [c.item() if hasattr(c, "item") else c for c in classifier.classes_]
    device = next(model.parameters()).device

    def flush(texts: list[str], out: Any) -> None:
        ids = encode_batch(tokenizer, texts, model.config.max_length, model.config.truncation)
        batch = pad_batch(ids, model.config.pad_id, model.min_length).to(device)
        probabilities = torch.softmax(model(batch).float(), dim=1).cpu().numpy()
        for row in probabilities:
            best = int(row.argmax())
            top = [{"label": classes[best], "score": float(row[best])}]
            out.write(json.dumps({"label": top[0]["label"], "score": top[0]["score"], "top_k": top}) + "\n")

    with open(input_path, encoding="utf-8") as lines, open(output_path, "w", encoding="utf-8") as out, torch.no_grad():
        batch: list[str] = []
        for line in lines:
            batch.append(line.rstrip("\n"))
            if len(batch) == batch_size:
                flush(batch, out)
                batch = []
        if batch:
            flush(batch, out)


def machine() -> dict[str, Any]:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "available_cores": cores,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
    }


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "| lines | textcnn predict rows/s | peak RSS (MiB) | plain loop rows/s | peak RSS (MiB) | speedup |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["results"]:
        ours, plain = row["textcnn_predict"], row["plain_loop"]
        lines.append(
            f"| {row['lines']:,} | {ours['rows_per_s']:,.0f} ({ours['rows_per_s_after_startup']:,.0f}) | "
            f"{ours['peak_rss_mib']:,.0f} | {plain['rows_per_s']:,.0f} ({plain['rows_per_s_after_startup']:,.0f}) | "
            f"{plain['peak_rss_mib']:,.0f} | {row['speedup']:.2f}x ({row['speedup_after_startup']:.2f}x) |"
        )
    startup = report["startup_seconds"]
    lines.append("")
    lines.append(
        "rows/s end to end (in brackets: after subtracting start-up, the fastest of three one-line runs: "
        f"textcnn predict {startup['textcnn_predict']:.1f} s, plain loop {startup['plain_loop']:.1f} s)"
    )
    ratio = report.get("rss_ratio_largest_vs_smallest")
    if ratio:
        lines.append("")
        lines.append(
            f"Peak RSS, largest vs smallest input: textcnn predict {ratio['textcnn_predict']:.2f}x, "
            f"plain loop {ratio['plain_loop']:.2f}x"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
