"""Benchmark prediction with PyTorch against onnxruntime fp32 and int8 exports, in one run.

A model is trained on DATA_DIR/train.csv (or taken from --model, if that folder exists) and exported twice with
`textcnn export` (fp32, and `--quantize int8` checked on DATA_DIR/test.csv). Then, for each engine:

- rows/s of `textcnn predict`'s pipeline (`predict_file`, JSONL output, reading, tokenising and
  writing included) on an input of --rows lines made by repeating MR's train and test texts, in a
  temporary file; the engines take turns, --repeats times, and the best time counts;
- accuracy on DATA_DIR/test.csv;
- the size of the weights file (model.safetensors, model.onnx).

Besides the shipped engines, the model alone (token ids in, logits out; no reading or writing) is
timed for PyTorch's dynamic int8 quantisation (`torch.ao.quantization.quantize_dynamic` of the
`nn.Linear` layers of `textcnn.export.graph.ExportGraph`, the convolutions as one matrix product)
next to the same graph in fp32 and the torch engine's own path: it decides whether int8 is worth
offering for the PyTorch engine.

Usage:
    python -m scripts.bench_onnx [DATA_DIR] [--model DIR] [--epochs N] [--rows 100000] [--threads N]
                                 [--repeats 2] [--json bench-results/onnx.json]

DATA_DIR defaults to ../shared/benchmarks/mr. Nothing is written into the repository but --json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textcnn import TextCNNClassifier
from textcnn.batching import inference_batches, pad_batch
from textcnn.export.graph import ExportGraph
from textcnn.export.onnx import OPSET, _quantize_int8, _trace, export_onnx, open_session, run_logits
from textcnn.inference import cpu_batch_tokens, predict_logits
from textcnn.prediction.engines import OnnxEngine
from textcnn.prediction.stream import iter_predictions, predict_file, torch_threads
from textcnn.projection import TokenProjection
from textcnn.tokenization import encode_batch

REPO = Path(__file__).resolve().parent.parent


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/benchmarks/mr", help="folder with train/test.csv")
    parser.add_argument("--model", help="an MR model directory: used if it exists, else trained and saved there")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs when no --model is given")
    parser.add_argument("--rows", type=int, default=100_000, help="lines of the prediction input")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of every engine (default: all)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per engine, best counts")
    parser.add_argument("--model-rows", type=int, default=20_000, help="rows of the model-alone timings")
    parser.add_argument("--json", default="bench-results/onnx.json", help="where to write the results")
    args = parser.parse_args()

    data_dir = Path(args.data_dir)
    for name in ("train.csv", "test.csv"):
        if not (data_dir / name).is_file():
            raise SystemExit(f"{data_dir / name} not found; pass the MR benchmark folder as DATA_DIR")
    train_texts, train_labels = read_csv(data_dir / "train.csv")
    test_texts, test_labels = read_csv(data_dir / "test.csv")
    threads = args.threads or len(os.sched_getaffinity(0))

    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as work_name:
        work = Path(work_name)
        if args.model and Path(args.model).is_dir():
            model_dir = Path(args.model)
        else:
            print(f"training on {len(train_texts)} texts, {args.epochs} epochs ...", flush=True)
            start = time.perf_counter()
            clf = TextCNNClassifier(epochs=args.epochs, refit=False, device="cpu", seed=0)
            with torch_threads(threads):
                clf.fit(train_texts, train_labels)
            print(f"  trained in {time.perf_counter() - start:.0f} s", flush=True)
            model_dir = clf.save(Path(args.model) if args.model else work / "model")
        folders = {"torch": model_dir}
        for quantize in (None, "int8"):
            name = f"onnx-{quantize or 'fp32'}"
            result = export_onnx(
                model_dir, work / name, quantize=quantize, check_texts=test_texts, check_source="MR test"
            )
            print(f"{name}: {result.check.summary()}", flush=True)
            folders[name] = work / name

        source = work / "input.txt"
        lines = islice(cycle(train_texts + test_texts), args.rows)
        source.write_text("".join(t.replace("\n", " ") + "\n" for t in lines), encoding="utf-8")

        results: dict[str, dict[str, Any]] = {}
        for name, folder in folders.items():
            engine = "torch" if name == "torch" else "onnx"
            weights = folder / ("model.safetensors" if engine == "torch" else "model.onnx")
            predicted = [
                label
                for chunk in iter_predictions(folder, data_dir / "test.csv", engine=engine, num_threads=threads)
                for label in chunk.probabilities.argmax(axis=1)
            ]
            classes = TextCNNClassifier.load(model_dir, device="cpu").classes_
            accuracy = float(np.mean([classes[p] == t for p, t in zip(predicted, test_labels, strict=True)]))
            results[name] = {"weights_bytes": weights.stat().st_size, "mr_test_accuracy": accuracy, "seconds": []}

        for _ in range(args.repeats):  # engines take turns, so a busy spell of the shared CPU hits them alike
            for name, folder in folders.items():
                engine = "torch" if name == "torch" else "onnx"
                seconds = best_time(
                    lambda folder=folder, engine=engine: predict_file(
                        folder,
                        source,
                        work / "out.jsonl",
                        engine=engine,
                        num_threads=threads,
                        show_progress=False,
                    ),
                    1,
                )
                results[name]["seconds"].append(seconds)
        for entry in results.values():
            entry["predict_rows_per_s"] = args.rows / min(entry["seconds"])

        model_only = time_model_alone(model_dir, folders, source, threads, args.repeats, args.model_rows)

    report = {
        "rows": args.rows,
        "model_rows": args.model_rows,
        "threads": threads,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "engines": results,
        "model_only": model_only,
    }
    print_report(report)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {out}")


class UnfoldedGraph(torch.nn.Module):
    """The wide convolutions as `nn.Linear` layers over unfolded windows (batch, windows, width * dim):
    the formulation `torch.ao.quantization.quantize_dynamic` and onnxruntime's MatMul
    quantisation turn into int8 matrix products. Max pooling only; a measurement, not shipped."""

    def __init__(self, graph: ExportGraph) -> None:
        super().__init__()
        self.embedding, self.classifier, self.pad_id = graph.embedding, graph.classifier, graph.pad_id
        self.widths = self.kernel_sizes = graph.kernel_sizes
        self.linears = torch.nn.ModuleList()
        for conv, width in zip(graph.convs, self.widths, strict=True):
            linear = torch.nn.Linear(conv.in_channels * width, conv.out_channels)
            with torch.no_grad():
                linear.weight.copy_(conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1))
                linear.bias.copy_(conv.bias)
            self.linears.append(linear)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        lengths = (input_ids != self.pad_id).sum(dim=1, keepdim=True)
        edge = max(self.widths) - 1
        embedded = torch.nn.functional.pad(self.embedding(input_ids), (0, 0, edge, edge))
        pooled = []
        for width, linear in zip(self.widths, self.linears, strict=True):
            start = edge - (width - 1)
            shifts = [embedded[:, start + j : (j - width + 1 - start) or None] for j in range(width)]
            activations = linear(torch.cat(shifts, dim=2))  # (batch, windows, filters)
            valid = torch.arange(activations.shape[1]).unsqueeze(0) <= (lengths + width - 2).clamp(min=0)
            activations = activations.masked_fill(~valid.unsqueeze(2), float("-inf"))
            pooled.append(torch.relu(activations.amax(dim=1)))
        return self.classifier(torch.cat(pooled, dim=1))


def time_model_alone(
    model_dir: Path, folders: dict[str, Path], source: Path, threads: int, repeats: int, rows: int
) -> dict[str, dict[str, float]]:
    """rows/s of the model on token ids already made, for each way of running it."""
    clf = TextCNNClassifier.load(model_dir, device="cpu")
    model = clf.model_.eval()
    config = model.config
    texts = source.read_text(encoding="utf-8").splitlines()[:rows]
    ids = encode_batch(clf.tokenizer_, texts, config.max_length, config.truncation)
    graph = ExportGraph(model)
    unfolded = UnfoldedGraph(graph).eval()
    quantized = torch.ao.quantization.quantize_dynamic(unfolded, {torch.nn.Linear}, dtype=torch.qint8)
    tokens = cpu_batch_tokens(config)
    reference = predict_logits(model, ids[:2000])

    def run_module(module: torch.nn.Module, sample: list[list[int]]) -> np.ndarray:
        out = np.empty((len(sample), config.num_classes), dtype=np.float32)
        with torch.inference_mode():
            for batch in inference_batches([len(s) for s in sample], 256, tokens):
                padded = pad_batch([sample[i] for i in batch], config.pad_id, max(config.kernel_sizes))
                out[batch] = module(padded).numpy()
        return out

    # Exports not shipped, for comparison: every op onnxruntime can quantise (Conv -> ConvInteger),
    # and the unfolded graph with int8 MatMuls.
    variants = folders["onnx-fp32"].parent / "variants"
    variants.mkdir(exist_ok=True)
    _quantize_int8(folders["onnx-fp32"] / "model.onnx", variants / "conv-int8.onnx", ("Gather", "Conv"))
    _trace(unfolded, variants / "unfolded.onnx", OPSET)  # type: ignore[arg-type]
    _quantize_int8(variants / "unfolded.onnx", variants / "unfolded-int8.onnx", ("Gather", "MatMul"))
    sessions = {name: OnnxEngine(folders[name]).export.session_for(threads) for name in ("onnx-fp32", "onnx-int8")}
    for name in ("conv-int8", "unfolded-int8"):
        sessions[name] = open_session(variants / f"{name}.onnx", num_threads=threads)

    def onnx_run(name: str) -> Callable[[list[list[int]]], np.ndarray]:
        return lambda sample: run_logits(sessions[name], sample, config, max_batch_tokens=tokens)

    runs: dict[str, Callable[[list[list[int]]], Any]] = {
        "torch engine (projection table)": lambda sample: predict_logits(
            model, sample, projection=TokenProjection(model)
        ),
        "torch convolutions": lambda sample: predict_logits(model, sample),
        "torch unfolded fp32": lambda sample: run_module(unfolded, sample),
        "torch unfolded int8 (quantize_dynamic)": lambda sample: run_module(quantized, sample),
        "onnx-fp32 (shipped)": onnx_run("onnx-fp32"),
        "onnx-int8 (shipped: int8 embeddings)": onnx_run("onnx-int8"),
        "onnx int8 embeddings + ConvInteger": onnx_run("conv-int8"),
        "onnx unfolded, int8 MatMul": onnx_run("unfolded-int8"),
    }
    timings: dict[str, dict[str, float]] = {}
    with torch_threads(threads):
        for name, fn in runs.items():
            logits = fn(ids[:2000])
            agreement = float((logits.argmax(axis=1) == reference.argmax(axis=1)).mean())
            timings[name] = {"argmax_agreement_first_2000": agreement, "seconds": float("inf")}
        for _ in range(repeats):
            for name, fn in runs.items():
                seconds = best_time(lambda fn=fn: fn(ids), 1)
                timings[name]["seconds"] = min(timings[name]["seconds"], seconds)
    for entry in timings.values():
        entry["rows_per_s"] = len(ids) / entry["seconds"]
    return timings


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{report['rows']} lines, {report['threads']} threads, torch {report['torch']}")
    print(f"{'engine':<12} {'predict rows/s':>15} {'weights MB':>11} {'MR test acc':>12}")
    for name, entry in report["engines"].items():
        print(
            f"{name:<12} {entry['predict_rows_per_s']:>15,.0f} {entry['weights_bytes'] / 1e6:>11.2f} "
            f"{entry['mr_test_accuracy']:>12.4f}"
        )
    print("\nmodel alone (token ids -> logits; argmax agreement with PyTorch on the first 2000):")
    for name, entry in report["model_only"].items():
        print(f"  {name:<40} {entry['rows_per_s']:>10,.0f} rows/s  {entry['argmax_agreement_first_2000']:.2%}")


if __name__ == "__main__":
    main()
