"""The token projection table gives the network's logits with lookups instead of convolutions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_corpus

from textcnn import projection
from textcnn.batching import pad_batch
from textcnn.config import ModelConfig
from textcnn.model import TextCNN
from textcnn.prediction.stream import iter_predictions
from textcnn.projection import TokenProjection, projection_for, worth_projecting


def _model(**overrides: object) -> TextCNN:
    torch.manual_seed(0)
    settings = {"vocab_size": 60, "num_classes": 3, "embedding_dim": 16, "num_filters": 8, **overrides}
    model = TextCNN(ModelConfig(**settings)).eval()
    with torch.no_grad():  # non-zero biases and a trained-looking second channel
        for conv in model.convs:
            conv.bias.uniform_(-0.5, 0.5)
        if model.static_embedding is not None:
            model.static_embedding.weight[1:].uniform_(-1, 1)
    return model


SEQUENCES = [[5, 9, 2, 44, 17, 3, 8, 30], [7], [], [12, 13], [1, 1, 59, 58, 57, 56, 20, 21, 22, 23, 24]]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"kernel_sizes": (1, 2, 7)},
        {"embedding_mode": "multichannel"},
        {"embedding_mode": "static", "kernel_sizes": (2,)},
        {"wide_convolution": True},
        {"wide_convolution": True, "kernel_sizes": (1, 2, 7), "embedding_mode": "multichannel"},
        {"pooling": "max+mean"},
        {"pooling": "max+mean", "wide_convolution": False, "kernel_sizes": (1, 4)},
    ],
)
def test_projection_logits_equal_the_network(overrides: dict[str, object]) -> None:
    model = _model(**overrides)
    batch = pad_batch(SEQUENCES, model.config.pad_id, model.min_length)  # padding, short and empty texts
    with torch.inference_mode():
        expected = model(batch)
    actual = TokenProjection(model).logits(batch)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_batch_shorter_than_the_widest_kernel_is_padded() -> None:
    model = _model(kernel_sizes=(3, 5))
    batch = torch.tensor([[4, 6], [9, 0]])
    with torch.inference_mode():
        expected = model(batch)
    torch.testing.assert_close(TokenProjection(model).logits(batch), expected, atol=1e-5, rtol=1e-5)


def test_projection_is_used_only_when_it_pays_off_and_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model()  # vocabulary of 60: worth it from 120 tokens
    assert not worth_projecting(model, 119)
    assert worth_projecting(model, 120)
    assert projection_for(model, [[1] * 60]) is None
    assert isinstance(projection_for(model, [[1] * 60, [2] * 60]), TokenProjection)
    monkeypatch.setattr(projection, "MAX_TABLE_BYTES", TokenProjection.table_bytes(model) - 1)
    assert not worth_projecting(model, 10_000)


def test_streamed_prediction_uses_the_table_and_matches_the_network(fitted, tmp_path, monkeypatch) -> None:
    texts, _ = make_corpus(400, seed=7)  # many more tokens than the fitted vocabulary holds
    source = tmp_path / "in.txt"
    source.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    built = []
    real_init = TokenProjection.__init__

    def counting_init(self: TokenProjection, model: TextCNN) -> None:
        built.append(model)
        real_init(self, model)

    monkeypatch.setattr(TokenProjection, "__init__", counting_init)
    with_table = np.concatenate([c.probabilities for c in iter_predictions(fitted, source, chunk_rows=64)])
    assert len(built) == 1  # built once, reused by every chunk
    monkeypatch.setattr(projection, "MAX_TABLE_BYTES", 0)  # force the convolutions
    with_network = np.concatenate([c.probabilities for c in iter_predictions(fitted, source, chunk_rows=64)])
    assert len(built) == 1
    assert with_table.shape == (400, len(fitted.classes_))
    np.testing.assert_allclose(with_table, with_network, atol=1e-5)
