"""Checkpoint averaging: the kept weights are the mean of the best validation epochs' weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_corpus

from textcnn.config import ModelConfig, TrainConfig
from textcnn.errors import TextCNNError
from textcnn.inference import predict_logits
from textcnn.model import TextCNN
from textcnn.tokenization import encode_batch, train_tokenizer
from textcnn.training.loop import average_states, train_model


def test_average_states_is_the_elementwise_mean() -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([3.0, 6.0]), "b": torch.tensor([1.0])}
    averaged = average_states([a, b])
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(averaged["b"], torch.tensor([0.5]))


def _fit(average_best: int) -> tuple[TextCNN, list[dict], dict[int, dict[str, torch.Tensor]]]:
    texts, labels = make_corpus(160, seed=3)
    tokenizer = train_tokenizer(texts)
    ids = encode_batch(tokenizer, texts, 64)
    targets = np.searchsorted(np.unique(labels), labels)
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=tokenizer.get_vocab_size(), num_classes=3, embedding_dim=16, num_filters=8)
    model = TextCNN(config)
    weights: dict[int, dict[str, torch.Tensor]] = {}

    def remember(record: dict) -> None:  # the weights each epoch ends with, before any averaging
        weights[record["epoch"]] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    train = TrainConfig(epochs=6, patience=6, batch_size=16, lr=3e-3, average_best=average_best, device="cpu")
    result = train_model(
        model, ids[:120], targets[:120], ids[120:], targets[120:], train,
        device=torch.device("cpu"), unk_id=1, callbacks=[remember],
    )  # fmt: skip
    kept_accuracy = (predict_logits(model, ids[120:]).argmax(axis=1) == targets[120:]).mean()
    assert result.final_valid_accuracy == pytest.approx(kept_accuracy)
    if average_best == 1:
        assert result.final_valid_accuracy == result.best_valid_accuracy
    return model, result.history, weights


def _best_epochs(history: list[dict], n: int) -> list[int]:
    ranked = sorted(history, key=lambda r: (r["valid_accuracy"], -r["valid_loss"], -r["epoch"]), reverse=True)
    return sorted(r["epoch"] for r in ranked[:n])


@pytest.mark.parametrize("average_best", [1, 3])
def test_kept_weights_average_the_best_epochs(average_best: int) -> None:
    model, history, weights = _fit(average_best)
    assert len(history) == 6
    chosen = _best_epochs(history, average_best)
    expected = average_states([weights[e] for e in chosen])
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], rtol=1e-6, atol=1e-7)
    if average_best > 1:  # the mean of different epochs is none of them
        assert not any(torch.equal(model.classifier.weight, weights[e]["classifier.weight"]) for e in weights)


def test_average_best_must_be_positive() -> None:
    with pytest.raises(ValueError, match="average_best"):
        TrainConfig(average_best=0)


def test_a_tensor_equal_in_every_state_is_kept_bit_for_bit() -> None:
    frozen = torch.rand(50, 7)
    states = [{"frozen": frozen.clone(), "trained": torch.rand(3)} for _ in range(3)]
    assert torch.equal(average_states(states)["frozen"], frozen)


def test_a_loss_that_turns_nan_stops_training_with_an_error() -> None:
    texts, labels = make_corpus(60, seed=3)
    tokenizer = train_tokenizer(texts)
    ids = encode_batch(tokenizer, texts, 64)
    targets = np.searchsorted(np.unique(labels), labels)
    model = TextCNN(ModelConfig(vocab_size=tokenizer.get_vocab_size(), num_classes=3, embedding_dim=16, num_filters=8))
    with torch.no_grad():
        model.embedding.weight[5] = float("nan")  # as a corrupt vectors file would leave it
    train = TrainConfig(epochs=3, batch_size=16, device="cpu")
    with pytest.raises(TextCNNError, match="training diverged: the loss became nan in epoch 1"):
        train_model(model, ids[:50], targets[:50], ids[50:], targets[50:], train, device=torch.device("cpu"), unk_id=1)
