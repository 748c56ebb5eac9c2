"""The benchmark's report: per-method summaries over seeds, the definitions of every measured
quantity, and the markdown tables printed and written as results.md."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.bench.textcnn_method import FORWARD_TIMING_ROWS

DEFINITIONS = {
    "accuracy, macro_f1": "sklearn accuracy_score / f1_score(average='macro') on the full test split",
    "mean, std": "over seeds; std is the sample standard deviation (0 for one run); tfidf is deterministic: 1 run",
    "train_seconds": "wall time of fit(), everything included (tokenizer/vectorizer, CV over C, all epochs, "
    "validation passes)",
    "train_sentences_per_s": "training rows x epochs actually run / train_seconds (tfidf: 1 epoch, its CV fits "
    "included in the time; textcnn: rows left after carving the validation split, plus all rows x refit epochs)",
    "epochs, refit_epochs": "textcnn: epochs run with validation (early stopping), then epochs of the refit on all "
    "training rows (refit='auto': sentence data whose validation split was carved from train)",
    "predict_sentences_per_s": "test rows / wall time of one in-process predict() call on the whole test split "
    "(tokenization included)",
    "peak_rss_mb": "peak RSS (Linux VmHWM; ru_maxrss elsewhere) of the fresh subprocess that ran this method on "
    "this dataset: Python, libraries, data and model included (baseline workers never import torch); "
    "rss_before_fit_mb is the same process's RSS just before fit()",
    "matmul_peak_gflops": "best torch.matmul GFLOP/s of square matrices (2 n^3 FLOPs) on textcnn's device, "
    "measured at the start and end of the run: on CPU fp32 with the torch thread count used for training; on a GPU "
    "in matmul_dtype, the dtype of textcnn's autocast (bf16 where supported)",
    "textcnn train_gflops": "useful training FLOPs (textcnn.flops: 3 x forward per training row and epoch + "
    "forward per validation row and epoch, + 3 x forward per row of the refit's epochs; padding not counted) / seconds "
    "of the epoch loops",
    "textcnn inference_gflops": "useful forward FLOPs of the test split / predict() wall time (tokenization "
    "included); inference_model_gflops: the same for the model's batched forward pass alone (no tokenization), "
    f"timed on the first {FORWARD_TIMING_ROWS} (shuffled) test rows",
    "peak_fraction": "GFLOP/s divided by matmul_peak_gflops",
}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(runs: list[dict[str, Any]], peak_gflops: float) -> dict[str, Any]:
    """Mean/std over the successful seeds of one method on one dataset."""
    ok = [run for run in runs if "error" not in run]
    summary: dict[str, Any] = {"runs": len(ok), "errors": [run["error"] for run in runs if "error" in run]}
    if not ok:
        return summary
    for key in ("accuracy", "macro_f1"):
        summary[f"{key}_mean"], summary[f"{key}_std"] = mean_std([run[key] for run in ok])
    for key in ("train_seconds", "train_sentences_per_s", "predict_sentences_per_s", "epochs"):
        summary[f"{key}_mean"] = statistics.fmean(run[key] for run in ok)
    summary["refit_epochs_mean"] = statistics.fmean(run.get("refit_epochs", 0) for run in ok)
    summary["peak_rss_mb_max"] = max(run["peak_rss_mb"] for run in ok)
    summary["rss_before_fit_mb_max"] = max(run["rss_before_fit_mb"] for run in ok)
    for key in ("train_gflops", "inference_gflops", "inference_model_gflops"):
        if key in ok[0]:
            summary[f"{key}_mean"] = statistics.fmean(run[key] for run in ok)
            summary[f"{key.removesuffix('_gflops')}_peak_fraction"] = summary[f"{key}_mean"] / peak_gflops
    return summary


def _epochs(summary: dict[str, Any]) -> str:
    """Mean epochs run, with the refit's added: "6.3 + 6.3 refit"."""
    refit = summary.get("refit_epochs_mean", 0)
    return f"{summary['epochs_mean']:.1f}" + (f" + {refit:.1f} refit" if refit else "")


def matmul_peak_line(report: dict[str, Any]) -> str:
    machine, size = report["machine"], report["matmul_size"]
    where = machine.get("gpu") or f"{machine['torch_threads']} thread(s)"
    dtype = report.get("matmul_dtype", "float32")
    return f"{dtype} matmul peak: {report['matmul_peak_gflops']:.1f} GFLOP/s ({size}x{size}, {where})"


def _percent(fraction: float) -> str:
    """One decimal, or two significant digits below 1% (a GPU's small-batch fractions)."""
    percent = 100 * fraction
    return f"{percent:.1f}" if percent >= 1 else f"{percent:.2g}"


def _pct(summary: dict[str, Any], key: str) -> str:
    mean, std = summary[f"{key}_mean"], summary[f"{key}_std"]
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if summary["runs"] > 1 else f"{100 * mean:.1f}"


def render_markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}; machine: {machine['cpu']}, {machine['usable_cores']} cores, "
        f"{machine['memory_gb']} GB; torch {machine['torch']}, {machine['torch_threads']} thread(s); "
        f"commit {machine['git_commit']}  ",
        f"{matmul_peak_line(report)}",
        "",
        "Accuracy and macro-F1 in % on test (mean ± std over seeds); times and throughputs are means, RSS the max.",
        "",
        "| dataset | method | runs | accuracy | macro-F1 | epochs | train s | train sent/s | predict sent/s "
        "| peak RSS MB | RSS at fit start MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    efficiency = []
    for dataset, methods in report["results"].items():
        for method, entry in methods.items():
            s = entry["summary"]
            if not s["runs"]:
                lines.append(f"| {dataset} | {method} | 0 | failed: {s['errors'][0]} | | | | | | | |")
                continue
            lines.append(
                f"| {dataset} | {method} | {s['runs']} | {_pct(s, 'accuracy')} | {_pct(s, 'macro_f1')} "
                f"| {_epochs(s)} | {s['train_seconds_mean']:.1f} | {s['train_sentences_per_s_mean']:,.0f} "
                f"| {s['predict_sentences_per_s_mean']:,.0f} | {s['peak_rss_mb_max']:,.0f} "
                f"| {s['rss_before_fit_mb_max']:,.0f} |"
            )
            if "train_gflops_mean" in s:
                efficiency.append(
                    f"| {dataset} | {method} | {s['train_gflops_mean']:.1f} | {_percent(s['train_peak_fraction'])} "
                    f"| {s['inference_gflops_mean']:.1f} | {_percent(s['inference_peak_fraction'])} "
                    f"| {s['inference_model_gflops_mean']:.1f} | {_percent(s['inference_model_peak_fraction'])} |"
                )
    if efficiency:
        lines += [
            "",
            "textcnn useful FLOP/s (analytic count, padding excluded) against the matmul peak; predict can pass"
            " 100%: on large inputs it sums precomputed token rows instead of running the convolutions counted:",
            "",
            "| dataset | method | train GFLOP/s | train % peak | predict GFLOP/s | predict % peak "
            "| forward-only GFLOP/s | forward-only % peak |",
            "|---|---|---|---|---|---|---|---|",
            *efficiency,
        ]
    if report["notes"]:
        lines += ["", *[f"Note: {note}" for note in report["notes"]]]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
