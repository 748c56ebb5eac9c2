"""Temperature scaling: fitted on validation data, saved with the model, applied by predict_proba,
`textcnn predict` and `textcnn eval`; never changes a predicted label; ECE and Brier score."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SMALL, make_corpus
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss

from textcnn import TextCNNClassifier
from textcnn.calibration import (
    brier_score,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability,
    softmax,
)
from textcnn.cli.main import cli
from textcnn.errors import TextCNNError

FAST = {**SMALL, "epochs": 4, "refit": False}


def overconfident(n: int = 2000, classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits right about 60% of the time, scaled so that the model claims ~100% confidence."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes))
    logits[np.arange(n), targets] += 1.0
    return logits * 8.0, targets


def test_ece_by_hand() -> None:
    # Ten rows at confidence 0.9 of which six are right: one filled bin, |0.6 - 0.9| = 0.3.
    probabilities = np.tile([0.9, 0.1], (10, 1))
    targets = np.array([0] * 6 + [1] * 4)
    assert expected_calibration_error(probabilities, targets) == pytest.approx(0.3)
    bins = reliability(probabilities, targets)
    assert sum(bins["count"]) == 10 and bins["count"][13] == 10  # 0.9 lies in (13/15, 14/15]
    assert bins["accuracy"][13] == pytest.approx(0.6) and bins["confidence"][0] is None


def test_brier_score_is_twice_scikit_learns_binary_one() -> None:
    rng = np.random.default_rng(1)
    positive = rng.random(50)
    targets = rng.integers(0, 2, 50)
    probabilities = np.column_stack([1 - positive, positive])
    assert brier_score(probabilities, targets) == pytest.approx(2 * brier_score_loss(targets, positive))


def test_temperature_lowers_ece_and_nll_of_overconfident_logits_and_keeps_every_label() -> None:
    logits, targets = overconfident()
    temperature = fit_temperature(logits, targets)
    assert temperature > 2
    before, after = softmax(logits), softmax(logits, temperature)
    assert expected_calibration_error(after, targets) < expected_calibration_error(before, targets) / 3
    assert negative_log_likelihood(logits, targets, temperature) < negative_log_likelihood(logits, targets)
    np.testing.assert_array_equal(after.argmax(axis=1), before.argmax(axis=1))


def test_an_underconfident_model_gets_a_temperature_below_one() -> None:
    logits, targets = overconfident(seed=2)
    assert fit_temperature(logits / 40.0, targets) < 1


@pytest.fixture(scope="module")
def fitted() -> tuple[TextCNNClassifier, TextCNNClassifier, list[str], list[str]]:
    texts, labels = make_corpus(240, seed=1)
    calibrated = TextCNNClassifier(**FAST).fit(texts, labels)
    plain = TextCNNClassifier(calibrate=False, **FAST).fit(texts, labels)
    test_texts, test_labels = make_corpus(60, seed=2)
    return calibrated, plain, test_texts, test_labels


def test_calibration_changes_probabilities_but_no_label(fitted) -> None:
    calibrated, plain, texts, _ = fitted
    assert plain.temperature_ == 1.0
    assert calibrated.temperature_ != 1.0
    # Same seed, same training: the temperature is fitted afterwards, on the same weights.
    np.testing.assert_allclose(calibrated.predict_logits(texts), plain.predict_logits(texts), atol=1e-5)
    np.testing.assert_array_equal(calibrated.predict(texts), plain.predict(texts))
    proba = calibrated.predict_proba(texts)
    assert not np.allclose(proba, plain.predict_proba(texts))
    np.testing.assert_allclose(proba, softmax(plain.predict_logits(texts), calibrated.temperature_), atol=1e-5)


def test_the_temperature_is_saved_and_applied_after_loading(fitted, tmp_path) -> None:
    calibrated, _, texts, _ = fitted
    loaded = TextCNNClassifier.load(calibrated.save(tmp_path / "m"))
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["temperature"] == pytest.approx(calibrated.temperature_)
    assert config["training"]["calibrate"] is True
    assert loaded.temperature_ == pytest.approx(calibrated.temperature_)
    np.testing.assert_allclose(loaded.predict_proba(texts), calibrated.predict_proba(texts), atol=1e-6)


def test_a_folder_without_a_temperature_predicts_uncalibrated(fitted, tmp_path) -> None:
    calibrated, plain, texts, _ = fitted
    calibrated.save(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    del config["model"]["temperature"], config["training"]["calibrate"]
    path.write_text(json.dumps(config))
    loaded = TextCNNClassifier.load(tmp_path / "m")
    assert loaded.temperature_ == 1.0
    np.testing.assert_allclose(loaded.predict_proba(texts), plain.predict_proba(texts), atol=1e-5)


@pytest.mark.parametrize("value", [0, -1.5, "2"])
def test_a_bad_temperature_in_config_json_names_the_file(fitted, tmp_path, value) -> None:
    fitted[0].save(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    config["model"]["temperature"] = value
    path.write_text(json.dumps(config))
    with pytest.raises(TextCNNError, match="config.json is invalid: temperature must be"):
        TextCNNClassifier.load(tmp_path / "m")


def test_calibrate_must_be_a_bool() -> None:
    texts, labels = make_corpus(30)
    with pytest.raises(TextCNNError, match="calibrate must be True or False"):
        TextCNNClassifier(calibrate="yes", **FAST).fit(texts, labels)


def test_the_estimator_works_inside_calibrated_classifier_cv(fitted) -> None:
    _, _, test_texts, test_labels = fitted
    texts, labels = make_corpus(180, seed=4)
    model = CalibratedClassifierCV(TextCNNClassifier(calibrate=False, **FAST), cv=2, method="sigmoid")
    model.fit(texts, labels)
    proba = model.predict_proba(test_texts)
    assert proba.shape == (len(test_texts), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (model.predict(test_texts) == np.asarray(test_labels)).mean() > 0.5  # chance: 1/3


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_eval_reports_ece_and_brier_before_and_after_and_predict_applies_the_temperature(fitted, tmp_path) -> None:
    calibrated, _, texts, labels = fitted
    calibrated.save(tmp_path / "m")
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "test.csv", index=False)
    result = run("eval", tmp_path / "m", tmp_path / "test.csv", "--output", tmp_path / "metrics.json")
    assert result.exit_code == 0, result.output
    assert "ECE (15 bins)" in result.output and "uncalibrated" in result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    proba = calibrated.predict_proba(texts)
    targets = np.searchsorted(calibrated.classes_, labels)
    assert metrics["temperature"] == pytest.approx(calibrated.temperature_)
    assert metrics["ece"] == pytest.approx(expected_calibration_error(proba, targets), abs=1e-5)
    assert metrics["brier"] == pytest.approx(brier_score(proba, targets), abs=1e-5)
    plain = softmax(calibrated.predict_logits(texts))
    assert metrics["uncalibrated"]["ece"] == pytest.approx(expected_calibration_error(plain, targets), abs=1e-5)
    assert len(metrics["reliability"]["count"]) == 15

    pd.DataFrame({"text": texts}).to_csv(tmp_path / "in.csv", index=False)
    result = run("predict", tmp_path / "m", tmp_path / "in.csv", "--output", tmp_path / "out.jsonl", "--probabilities")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == len(texts)
    got = np.array([[row["probabilities"][str(c)] for c in calibrated.classes_] for row in rows])
    np.testing.assert_allclose(got, proba, atol=1e-5)


def test_cli_no_calibrate_saves_temperature_one(tmp_path) -> None:
    texts, labels = make_corpus(60)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "d.csv", index=False)
    small = ["--embedding-dim", "16", "--num-filters", "8", "--epochs", "2", "--device", "cpu", "--refit", "never"]
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", *small, "--no-calibrate")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["temperature"] == 1.0 and config["training"]["calibrate"] is False
    assert "calibrated" not in result.output.strip().splitlines()[-1]
