"""scripts.heldout_sweep: a real two-worker sweep on a tiny generated dataset."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import HAS_PROC_CHILDREN, is_running, make_corpus, wait_for_children

from scripts.bench.processes import child_env, module_command

TINY = ["embedding_dim=8", "num_filters=4", "epochs=2", "batch_size=16", "lr=0.005", "device=cpu"]


def sweep_command(*args: str) -> tuple[list[str], dict[str, str]]:
    """The sweep's command line and an environment in which it imports this checkout's scripts and textcnn."""
    return module_command("scripts.heldout_sweep", *args), child_env()


def run_sweep(*args: str) -> subprocess.CompletedProcess:
    command, env = sweep_command(*args)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def write_topics(root: Path, rows: int, seed: int) -> None:
    """A generated `topics/train.csv` under `root`."""
    texts, labels = make_corpus(rows, seed=seed)
    (root / "topics").mkdir()
    pd.DataFrame({"text": texts, "label": labels}).to_csv(root / "topics" / "train.csv", index=False)


def test_sweep_runs_every_variant_and_seed_and_tabulates_them(tmp_path: Path) -> None:
    write_topics(tmp_path, 200, seed=3)
    out = tmp_path / "sweep.jsonl"
    common = [arg for setting in TINY for arg in ("--param", setting)]
    result = run_sweep(
        "--data-root", str(tmp_path), "--datasets", "topics", "--seeds", "2", "--workers", "2",
        "--variant", "default", "--variant", "narrow wide_convolution=False kernel_sizes=2,3 refit=False",
        "--variant", "broken dropout=2.0", "--out", str(out), *common,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["variant"], r["seed"]) for r in rows) == [
        (variant, seed) for variant in ("broken", "default", "narrow") for seed in (0, 1)
    ]
    for row in rows:
        if row["variant"] == "broken":
            assert "dropout" in row["error"]
            continue
        assert row["heldout_rows"] == 30  # 15% of 200, stratified
        assert 0.0 <= row["heldout_accuracy"] <= 1.0
        assert row["params"]["num_filters"] == 4
    narrow = [r for r in rows if r["variant"] == "narrow"]
    assert all(r["params"]["kernel_sizes"] == [2, 3] for r in narrow)  # a tuple, as JSON writes it
    assert all(r["params"]["wide_convolution"] is False for r in narrow)
    # Sentences: the default refits on all rows, refit=False does not.
    assert all(r["refit_epochs"] == 0 for r in narrow)
    assert all(r["refit_epochs"] > 0 for r in rows if r["variant"] == "default")
    default_mean = sum(r["heldout_accuracy"] for r in rows if r["variant"] == "default") / 2
    assert f"| default | {default_mean:.4f} (2) |" in result.stdout
    assert "| broken |  |" in result.stdout


def test_missing_dataset_is_a_usage_error(tmp_path: Path) -> None:
    result = run_sweep("--data-root", str(tmp_path), "--datasets", "nope", "--variant", "default", "--out", "x")
    assert result.returncode == 2
    assert "no train.csv" in result.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(not HAS_PROC_CHILDREN, reason="reads child processes from Linux /proc")
def test_sigterm_stops_the_workers_too(tmp_path: Path) -> None:
    write_topics(tmp_path, 400, seed=4)
    slow = ["embedding_dim=8", "num_filters=4", "epochs=500", "patience=500", "batch_size=4", "device=cpu"]
    command, env = sweep_command(
        "--data-root", str(tmp_path), "--datasets", "topics", "--seeds", "2", "--workers", "2",
        "--variant", "default", "--out", str(tmp_path / "sweep.jsonl"), *[a for s in slow for a in ("--param", s)],
    )  # fmt: skip
    sweep = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = wait_for_children(sweep.pid, 3)  # 2 workers + the resource tracker
    assert len(workers) >= 3
    time.sleep(1)
    sweep.send_signal(signal.SIGTERM)
    assert sweep.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 20
    while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(is_running(pid) for pid in workers)
