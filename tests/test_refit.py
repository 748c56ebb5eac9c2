"""Refit: after a carved validation split picked the epochs, train again on all rows for them."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
import torch
from conftest import SMALL, StopAfterSteps, make_corpus, make_documents
from sklearn.base import clone

from textcnn import TextCNNClassifier, TextCNNError
from textcnn.config import ModelConfig, TrainConfig
from textcnn.data import stratified_split
from textcnn.model import TextCNN
from textcnn.sizing import DOCUMENT_MEDIAN_TOKENS
from textcnn.training.loop import seed_everything, train_model

PARAMS = {**SMALL, "epochs": 4, "patience": 10, "word_dropout": 0.1}
MARKER = "zzcarvedonly"  # a word that occurs only in one row of the carved validation split


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    texts, labels = make_corpus(150, seed=3)
    _, valid_idx = stratified_split(labels, TrainConfig.valid_fraction, PARAMS.get("seed", 0))
    texts[valid_idx[0]] += f" {MARKER}"
    return texts, labels


@pytest.fixture(scope="module")
def refitted(corpus) -> TextCNNClassifier:
    return TextCNNClassifier(**PARAMS, refit=True).fit(*corpus)


@pytest.fixture(scope="module")
def validated(corpus) -> TextCNNClassifier:
    return TextCNNClassifier(**PARAMS, refit=False).fit(*corpus)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    state_a, state_b = a.state_dict(), b.state_dict()
    return state_a.keys() == state_b.keys() and all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_refit_trains_on_the_carved_rows_for_the_epochs_validation_picked(refitted, validated) -> None:
    assert refitted.refit_ and not validated.refit_
    # The validated phase is the same run in both; the refit adds the carved rows' words.
    assert refitted.averaged_epochs_ == validated.averaged_epochs_ == [1, 2, 3, 4]
    assert refitted.valid_accuracy_ == validated.valid_accuracy_
    assert MARKER in refitted.tokenizer_.get_vocab()
    assert MARKER not in validated.tokenizer_.get_vocab()
    assert [r["epoch"] for r in refitted.refit_history_] == [1, 2, 3, 4]
    assert all("valid_accuracy" not in r and r["train_loss"] > 0 for r in refitted.refit_history_)
    assert validated.refit_history_ == []
    assert not _same_weights(refitted.model_, validated.model_)


def test_auto_refits_sentences_but_not_documents() -> None:
    sentences, sentence_labels = make_corpus(60)
    on_sentences = TextCNNClassifier(**{**PARAMS, "epochs": 2}).fit(sentences, sentence_labels)
    assert on_sentences.refit_ and len(on_sentences.refit_history_) == 2

    documents, document_labels = make_documents(40, words_per_text=DOCUMENT_MEDIAN_TOKENS + 10)
    # Explicit sizes: the median is still measured, because "auto" refit needs it.
    on_documents = TextCNNClassifier(**{**PARAMS, "epochs": 2, "max_length": 64}).fit(documents, document_labels)
    assert on_documents.median_tokens_ == DOCUMENT_MEDIAN_TOKENS + 10
    assert not on_documents.refit_ and on_documents.refit_history_ == []

    forced = TextCNNClassifier(**{**PARAMS, "epochs": 2, "max_length": 64}, refit=True).fit(documents, document_labels)
    assert forced.refit_


def test_given_validation_data_is_never_trained_on(corpus, caplog) -> None:
    texts, labels = corpus
    clf = TextCNNClassifier(**{**PARAMS, "epochs": 2}, refit=True).fit(
        texts[:120], labels[:120], X_valid=texts[120:], y_valid=labels[120:]
    )
    assert not clf.refit_ and clf.refit_history_ == []
    assert "refit=True has no effect with validation data given" in caplog.text


def test_refit_mode_averages_exactly_the_given_epochs() -> None:
    rng = np.random.default_rng(0)
    sequences = [list(rng.integers(2, 40, size=rng.integers(5, 12))) for _ in range(64)]
    targets = np.array([int(s[0] < 20) for s in sequences])
    # epochs=1 and patience=1 are ignored: the refit runs max(average_epochs) epochs, unvalidated.
    config = TrainConfig(epochs=1, patience=1, batch_size=8, lr=1e-2, device="cpu")

    def refit(epochs: list[int]) -> tuple[dict[str, torch.Tensor], list[int], int]:
        seed_everything(0)
        model = TextCNN(ModelConfig(vocab_size=40, num_classes=2, embedding_dim=8, num_filters=4, max_length=16))
        result = train_model(
            model,
            sequences,
            targets,
            [],
            targets[:0],
            config,
            device=torch.device("cpu"),
            unk_id=1,
            average_epochs=epochs,
        )
        return model.state_dict(), result.averaged_epochs, len(result.history)

    after_2, kept, ran = refit([2])
    assert (kept, ran) == ([2], 2)
    after_3, _, _ = refit([3])
    averaged, kept, ran = refit([3, 2])
    assert (kept, ran) == ([2, 3], 3)
    for name in averaged:
        if averaged[name].is_floating_point():
            torch.testing.assert_close(averaged[name], (after_2[name] + after_3[name]) / 2)
    assert not torch.equal(after_2["classifier.weight"], after_3["classifier.weight"])


def test_a_stop_during_the_refit_keeps_the_validated_model_and_resumes_the_refit(
    corpus, refitted, validated, tmp_path
) -> None:
    data = datasets.Dataset.from_dict({"text": corpus[0], "label": corpus[1]})
    validated_steps = PARAMS["epochs"] * -(-int(len(data) * 0.9) // PARAMS["batch_size"])
    stop = StopAfterSteps(validated_steps + 13)  # the refit's second epoch, after its third step
    first = TextCNNClassifier(**PARAMS, refit=True).fit_dataset(
        data, checkpoint_dir=tmp_path / "ckpt", should_stop=stop
    )
    assert first.interrupted_ and first.refit_stopped_ and not first.refit_
    assert _same_weights(first.model_, validated.model_)
    assert (tmp_path / "ckpt" / "refit" / "checkpoint.json").is_file()

    resumed = TextCNNClassifier(**PARAMS, refit=True).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert resumed.refit_ and not resumed.interrupted_
    assert _same_weights(resumed.model_, refitted.model_)
    assert resumed.tokenizer_.get_vocab() == refitted.tokenizer_.get_vocab()


def test_refit_is_a_saved_and_cloned_parameter(refitted, tmp_path) -> None:
    assert clone(refitted).get_params()["refit"] is True
    refitted.save(tmp_path / "model")
    assert TextCNNClassifier.load(tmp_path / "model").refit is True
    lines = [json.loads(line) for line in (tmp_path / "model" / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("refit", False) for r in lines] == [False] * len(refitted.history_) + [True] * 4
    assert TextCNNClassifier().get_params()["refit"] == "auto"


@pytest.mark.parametrize("value", ["sometimes", 1, None])
def test_a_bad_refit_value_is_a_plain_error(value: object) -> None:
    with pytest.raises(TextCNNError, match="refit must be True, False or 'auto'"):
        TextCNNClassifier(refit=value).fit(["a b", "c d"] * 10, ["x", "y"] * 10)
