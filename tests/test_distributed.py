"""Training under torchrun: two CPU processes (gloo backend) through DistributedDataParallel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
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
