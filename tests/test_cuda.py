"""CUDA paths (autocast, pinned memory): run only where a GPU is visible, skipped cleanly elsewhere."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import SMALL, make_corpus
from safetensors.torch import load_file
from test_cli import TRAIN_OPTIONS

from textcnn import TextCNNClassifier
from textcnn import devices as devices_module
from textcnn.cli.main import cli
from textcnn.training import loop as training_module
from textcnn.training.checkpoint import RNG_FILE

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_trains_on_cuda_and_the_saved_model_predicts_alike_on_cpu(corpus, test_corpus, tmp_path) -> None:
    texts, labels = corpus
    clf = TextCNNClassifier(**{**SMALL, "device": "cuda"}).fit(texts, labels)
    assert next(clf.model_.parameters()).is_cuda
    assert clf.refit_ and clf.refit_history_  # the refit on all rows ran on the GPU too
    assert clf.score(*test_corpus) >= 0.9
    clf.save(tmp_path / "m")
    on_cpu = TextCNNClassifier.load(tmp_path / "m", device="cpu")
    # autocast runs the GPU forward in bf16/fp16: probabilities agree to mixed-precision tolerance
    np.testing.assert_allclose(on_cpu.predict_proba(test_corpus[0]), clf.predict_proba(test_corpus[0]), atol=2e-2)


def test_benchmark_measures_the_gpu_peak_in_the_autocast_dtype() -> None:
    from scripts.bench import measure
    from textcnn.devices import autocast_dtype

    gflops, dtype = measure.measure_matmul_peak(1, 4096, repeats=2, device="cuda:0")
    assert dtype == str(autocast_dtype(torch.device("cuda", 0))).removeprefix("torch.")
    cpu_gflops, _ = measure.measure_matmul_peak(1, 512, repeats=2)
    assert gflops > 10 * cpu_gflops  # any CUDA GPU's half-precision matmul beats one CPU thread's fp32 by far
    assert measure.training_device({}) == "cuda:0"
    assert measure.training_device({"device": "cpu"}) == "cpu"


def test_fp16_autocast_trains_through_the_grad_scaler(corpus, test_corpus, monkeypatch) -> None:
    """GPUs without bf16 (T4, V100) autocast to fp16 and need the GradScaler: force that path here."""
    scaler_steps = []
    real_step = torch.amp.GradScaler.step

    def counting_step(self, optimizer, *args, **kwargs):
        scaler_steps.append(self.is_enabled())
        return real_step(self, optimizer, *args, **kwargs)

    fp16 = lambda device: torch.float16 if device.type == "cuda" else None  # noqa: E731
    monkeypatch.setattr(devices_module, "autocast_dtype", fp16)
    monkeypatch.setattr(training_module, "autocast_dtype", fp16)
    monkeypatch.setattr(torch.amp.GradScaler, "step", counting_step)
    clf = TextCNNClassifier(**{**SMALL, "device": "cuda"}).fit(*corpus)
    assert scaler_steps and all(scaler_steps)
    assert clf.score(*test_corpus) >= 0.9


def test_cli_trains_evaluates_and_predicts_on_cuda(tmp_path) -> None:
    texts, labels = make_corpus(300, seed=21)
    datasets.Dataset.from_dict({"text": texts, "label": labels}).to_csv(str(tmp_path / "train.csv"), index=False)
    test_texts, test_labels = make_corpus(60, seed=22)
    datasets.Dataset.from_dict({"text": test_texts, "label": test_labels}).to_csv(
        str(tmp_path / "test.csv"), index=False
    )
    options = [option if option != "cpu" else "cuda" for option in TRAIN_OPTIONS]  # --device cuda
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", str(tmp_path / "train.csv"), "--out", str(tmp_path / "m"), *options])
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(
        cli, ["eval", str(tmp_path / "m"), str(tmp_path / "test.csv"), "--output", str(tmp_path / "metrics.json")]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((tmp_path / "metrics.json").read_text())["accuracy"] >= 0.9
    predicted = runner.invoke(
        cli, ["predict", str(tmp_path / "m"), str(tmp_path / "test.csv"), "--output", str(tmp_path / "p.jsonl")]
    )
    assert predicted.exit_code == 0, predicted.output
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(rows) == len(test_texts)
    assert np.mean([row["label"] == label for row, label in zip(rows, test_labels, strict=True)]) >= 0.9


def test_a_cuda_run_checkpoints_the_gpu_rng_and_resumes(tmp_path) -> None:
    texts, labels = make_corpus(150, seed=3)
    data = datasets.Dataset.from_dict({"text": texts, "label": labels})
    params = {**SMALL, "device": "cuda", "epochs": 3, "patience": 10, "word_dropout": 0.1}

    class StopAfterFirstEpoch:
        def __init__(self) -> None:
            self.epochs = 0

        def record(self, record: dict) -> None:
            self.epochs = record["epoch"]

        def __call__(self) -> bool:
            return self.epochs >= 1

    stop = StopAfterFirstEpoch()
    first = TextCNNClassifier(**params).fit_dataset(
        data, callbacks=[stop.record], checkpoint_dir=tmp_path / "ckpt", should_stop=stop
    )
    assert first.interrupted_ and len(first.history_) == 1
    assert any(name.startswith("torch_cuda.") for name in load_file(str(tmp_path / "ckpt" / RNG_FILE)))
    resumed = TextCNNClassifier(**params).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert not resumed.interrupted_
    assert [record["epoch"] for record in resumed.history_] == [1, 2, 3]
    assert [record["epoch"] for record in resumed.refit_history_] == [1, 2, 3]
    assert resumed.history_[0] == first.history_[0]
    assert next(resumed.model_.parameters()).is_cuda
