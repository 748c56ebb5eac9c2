"""Class weights and the validation metric that picks the epochs: estimator, config and CLI agree."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import SMALL, make_corpus
from torch.nn import functional as F

from textcnn import TextCNNClassifier
from textcnn.cli.main import cli
from textcnn.config import TrainConfig
from textcnn.errors import TextCNNError
from textcnn.training.class_weights import class_weight_vector

WORDS = [f"w{i}" for i in range(30)]


def noise_corpus(n_major: int, n_minor: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts of random words whatever their label: a model can only learn the class prior."""
    rng = random.Random(seed)
    labels = ["major"] * n_major + ["minor"] * n_minor
    rng.shuffle(labels)
    return [" ".join(rng.choices(WORDS, k=8)) for _ in labels], labels


def test_balanced_weights_are_scikit_learns() -> None:
    targets = np.array([0] * 30 + [1] * 10 + [2] * 5)
    weights = class_weight_vector("balanced", ["a", "b", "c"], targets)
    np.testing.assert_allclose(weights, len(targets) / (3 * np.bincount(targets)))


def test_a_dict_names_labels_by_their_text_and_others_weigh_one() -> None:
    weights = class_weight_vector({"1": 4.0}, [0, 1, 2], np.array([0, 1, 2]))
    np.testing.assert_allclose(weights, [1.0, 4.0, 1.0])
    assert class_weight_vector(None, [0, 1], np.array([0, 1])) is None


def test_a_label_the_data_lacks_is_an_error_naming_class_weight() -> None:
    with pytest.raises(TextCNNError, match="class_weight names labels the training data lacks: 'spam'"):
        class_weight_vector({"spam": 2.0}, ["ham", "eggs"], np.array([0, 1]))


@pytest.mark.parametrize(
    ("value", "message"),
    [("heavy", "class_weight must be None, 'balanced'"), ({"a": -1}, "finite number > 0"), ({"a": "x"}, "a number")],
)
def test_bad_class_weights_are_refused_before_training(value, message) -> None:
    texts, labels = make_corpus(30)
    with pytest.raises(TextCNNError, match=message):
        TextCNNClassifier(class_weight=value, **SMALL).fit(texts, labels)


def test_bad_select_metric_is_refused() -> None:
    texts, labels = make_corpus(30)
    with pytest.raises(TextCNNError, match="select_metric must be one of"):
        TextCNNClassifier(select_metric="f1", **SMALL).fit(texts, labels)


def test_a_training_config_saved_before_these_settings_loads_with_the_old_behaviour() -> None:
    old = TrainConfig().to_dict()
    del old["class_weight"], old["select_metric"]
    config = TrainConfig(**old)
    assert config.class_weight is None
    assert config.select_metric == "accuracy"


def test_weighted_loss_is_torchs_weighted_cross_entropy() -> None:
    """The step's loss with class weights is the weighted mean torch defines (checked by hand here)."""
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    targets = torch.tensor([0, 1, 1])
    weights = torch.tensor([1.0, 3.0])
    per_row = F.cross_entropy(logits, targets, reduction="none")
    expected = (per_row * weights[targets]).sum() / weights[targets].sum()
    assert torch.isclose(F.cross_entropy(logits, targets, weight=weights), expected)


def test_balanced_weights_undo_the_prior_of_a_rare_class() -> None:
    """On labels the texts say nothing about, a model learns the prior: 10% for the rare class
    without weights, about half with balanced weights (each class then weighs the same in the loss)."""
    texts, labels = noise_corpus(180, 20)
    unseen = [" ".join(random.Random(1).choices(WORDS, k=8)) for _ in range(50)]
    settings = {**SMALL, "refit": False, "average_best": 1, "epochs": 6, "patience": 6, "calibrate": False}
    plain = TextCNNClassifier(**settings).fit(texts, labels)
    balanced = TextCNNClassifier(class_weight="balanced", **settings).fit(texts, labels)
    minor = list(plain.classes_).index("minor")
    plain_share = plain.predict_proba(unseen)[:, minor].mean()
    balanced_share = balanced.predict_proba(unseen)[:, minor].mean()
    assert plain_share < 0.25 < 0.35 < balanced_share, (plain_share, balanced_share)


def test_macro_f1_selection_keeps_the_epoch_with_the_best_macro_f1() -> None:
    texts, labels = noise_corpus(120, 30, seed=3)
    clf = TextCNNClassifier(
        select_metric="macro_f1", class_weight="balanced", refit=False, average_best=1, **{**SMALL, "patience": 12}
    ).fit(texts, labels)
    history = clf.history_
    assert all("valid_macro_f1" in record for record in history)
    best = max(history, key=lambda r: (r["valid_macro_f1"], -r["valid_loss"], -r["epoch"]))
    assert clf.best_epoch_ == best["epoch"]
    assert clf.train_config_.select_metric == "macro_f1"


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


CLI_SMALL = ["--embedding-dim", "16", "--num-filters", "8", "--epochs", "2", "--device", "cpu", "--refit", "never"]


def test_cli_class_weight_file_and_select_metric_are_saved_with_the_model(tmp_path) -> None:
    texts, labels = make_corpus(60)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "w.json").write_text(json.dumps({"food": 3}), encoding="utf-8")
    args = ["--class-weight", tmp_path / "w.json", "--select-metric", "macro_f1"]
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", *CLI_SMALL, *args)
    assert result.exit_code == 0, result.output
    training = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    assert training["class_weight"] == {"food": 3.0}
    assert training["select_metric"] == "macro_f1"
    loaded = TextCNNClassifier.load(tmp_path / "m")
    assert loaded.class_weight == {"food": 3.0} and loaded.select_metric == "macro_f1"


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [("not json", "is not readable JSON"), ('{"food": 0}', "finite number > 0"), ("[1, 2]", "non-empty dict")],
)
def test_cli_bad_class_weight_file_is_a_usage_error_naming_the_flag(tmp_path, weights: str, fragment: str) -> None:
    texts, labels = make_corpus(30)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "w.json").write_text(weights, encoding="utf-8")
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", "--class-weight", tmp_path / "w.json")
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert "--class-weight" in last and fragment in last, last
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_cli_class_weight_naming_an_unknown_label_leaves_no_model(tmp_path) -> None:
    texts, labels = make_corpus(30)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "w.json").write_text('{"spam": 2}', encoding="utf-8")
    result = run(
        "train", tmp_path / "d.csv", "--out", tmp_path / "m", *CLI_SMALL, "--class-weight", tmp_path / "w.json"
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: class_weight names labels the training data")
    assert not (tmp_path / "m").exists()


def test_a_checkpoint_written_before_these_settings_resumes_with_their_old_values() -> None:
    from textcnn.training.checkpoint import RunInfo

    now = TrainConfig().to_dict()
    old = {k: v for k, v in now.items() if k not in ("class_weight", "select_metric", "calibrate")}
    model = {"vocab_size": 10, "temperature": 1.0}
    before = RunInfo(model_config={"vocab_size": 10}, train_config=old, classes=[0, 1], data_fingerprint="x")
    assert before.differences(RunInfo(model_config=model, train_config=now, classes=[0, 1], data_fingerprint="x")) == []
    changed = RunInfo(
        model_config=model, train_config={**now, "select_metric": "macro_f1"}, classes=[0, 1], data_fingerprint="x"
    )
    assert before.differences(changed) == ["select_metric was 'accuracy', now 'macro_f1'"]
