"""Training under torchrun: two CPU processes (gloo backend) through DistributedDataParallel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import SMALL, make_corpus

from textcnn import TextCNNClassifier

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="torchrun's gloo set-up is tested on Linux")


def test_torchrun_trains_validates_refits_and_saves_once(tmp_path: Path) -> None:
    texts, labels = make_corpus(300, seed=1)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "train.csv", index=False)
    options = [
        *("--embedding-dim", str(SMALL["embedding_dim"]), "--num-filters", str(SMALL["num_filters"])),
        *("--batch-size", str(SMALL["batch_size"]), "--lr", str(SMALL["lr"]), "--epochs", "16", "--patience", "16"),
        *("--device", "cpu"),
    ]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "textcnn.cli", "train", str(tmp_path / "train.csv"), "--out", str(tmp_path / "model"), *options]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = [line for line in result.stderr.splitlines() if line.startswith("Saved model to")]
    assert len(saved) == 1 and "then refit on all training rows for" in saved[0]  # rank 0 alone reports
    assert result.stderr.count("epoch 1: train_loss") == result.stderr.count("refit epoch 1: train_loss") * 2 == 2
    assert not (tmp_path / "model.checkpoint").exists()
    metrics = [json.loads(line) for line in (tmp_path / "model" / "metrics.jsonl").read_text().splitlines()]
    assert any(record.get("refit") for record in metrics)

    test_texts, test_labels = make_corpus(90, seed=2)
    assert TextCNNClassifier.load(tmp_path / "model").score(test_texts, test_labels) >= 0.9


def _report_mean_loss(rank: int, store: str, out: str) -> None:
    import torch.distributed as dist

    from textcnn.devices import ProcessGroup
    from textcnn.training.epoch import _mean_over_ranks

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    total, seen = (
        (torch.tensor(3.0, dtype=torch.float64), 10) if rank == 0 else (torch.tensor(9.0, dtype=torch.float64), 20)
    )
    Path(out, f"rank{rank}").write_text(repr(_mean_over_ranks(total, seen, ProcessGroup(rank, 2))))
    dist.destroy_process_group()


def test_epoch_train_loss_is_the_mean_over_all_ranks_rows(tmp_path: Path) -> None:
    """Each rank sums the loss of its own batches; the logged epoch loss covers every rank's rows."""
    torch.multiprocessing.spawn(_report_mean_loss, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    assert [float((tmp_path / f"rank{rank}").read_text()) for rank in (0, 1)] == [12.0 / 30, 12.0 / 30]


def _resume_under_two_ranks(rank: int, store: str, out: str) -> None:
    """Each rank: an uninterrupted run, a run stopped mid-epoch with a checkpoint, its resume."""
    import os

    import datasets
    import torch.distributed as dist
    from conftest import StopAfterSteps

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    texts, labels = make_corpus(200, seed=3)
    data = datasets.Dataset.from_dict({"text": texts, "label": labels})
    # Dropout and word dropout draw different amounts on each rank (its batches differ in shape).
    params = {**SMALL, "epochs": 3, "patience": 10, "dropout": 0.5, "word_dropout": 0.2, "refit": False}
    checkpoint = Path(out, "ckpt")
    whole = TextCNNClassifier(**params).fit_dataset(data)
    stopped = TextCNNClassifier(**params).fit_dataset(data, checkpoint_dir=checkpoint, should_stop=StopAfterSteps(8))
    assert stopped.interrupted_
    dist.barrier()  # rank 0 has written the checkpoint
    resumed = TextCNNClassifier(**params).fit_dataset(data, checkpoint_dir=checkpoint, resume=True)
    whole_state, resumed_state = whole.model_.state_dict(), resumed.model_.state_dict()
    same = whole_state.keys() == resumed_state.keys() and all(
        torch.equal(t, resumed_state[k]) for k, t in whole_state.items()
    )
    losses = [[r["train_loss"] for r in c.history_] for c in (whole, resumed)]
    Path(out, f"rank{rank}").write_text(json.dumps({"same_weights": same, "losses": losses}))
    dist.barrier()
    dist.destroy_process_group()


def test_a_run_resumed_under_two_ranks_ends_with_the_uninterrupted_weights(tmp_path: Path) -> None:
    """Every rank continues its own random streams (dropout, word dropout), not rank 0's."""
    torch.multiprocessing.spawn(_resume_under_two_ranks, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        report = json.loads((tmp_path / f"rank{rank}").read_text())
        assert report["same_weights"], rank
        whole, resumed = report["losses"]
        assert resumed == pytest.approx(whole, rel=1e-6), rank
