"""The network: shapes, padding masks, short inputs, max-norm and frozen embeddings."""

from __future__ import annotations

import pytest
import torch

from textcnn.config import ModelConfig
from textcnn.model import TextCNN


def make_model(**overrides) -> TextCNN:
    config = ModelConfig(vocab_size=50, num_classes=3, embedding_dim=8, num_filters=4, **overrides)
    return TextCNN(config).eval()


def test_logits_have_batch_by_classes_shape() -> None:
    model = make_model()
    ids = torch.randint(2, 50, (7, 12))
    assert model(ids).shape == (7, 3)
    assert model.features(ids).shape == (7, 4 * 3)


@pytest.mark.parametrize("wide", [False, True])
def test_padding_never_changes_a_texts_output(wide: bool) -> None:
    """The same text alone and padded far beyond its length gets identical logits."""
    model = make_model(wide_convolution=wide)
    text = torch.tensor([[5, 9, 11, 3, 7, 8]])
    padded = torch.cat([text, torch.zeros(1, 30, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(text), model(padded))


@pytest.mark.parametrize("wide", [False, True])
def test_padding_cannot_win_the_max_pool(wide: bool) -> None:
    """Make padding windows score higher than any real window: the result must not move."""
    model = make_model(wide_convolution=wide)
    with torch.no_grad():
        model.embedding.weight[0].fill_(0.0)
        for conv in model.convs:
            conv.weight.fill_(-1.0)  # real tokens (positive embeddings) give very negative scores
            conv.bias.fill_(1.0)  # an all-padding window would score exactly this bias, > 0
        model.embedding.weight[1:].uniform_(0.5, 1.0)
    text = torch.tensor([[4, 5, 6, 7, 8, 9]])
    padded = torch.cat([text, torch.zeros(1, 20, dtype=torch.long)], dim=1)
    # Unmasked, padding windows would score 1.0 and win over the negative real windows.
    features = model.features(padded)
    assert torch.equal(features, model.features(text))
    assert torch.all(features == 0)  # ReLU of the (negative) best real window


@pytest.mark.parametrize("wide", [False, True])
def test_batch_composition_does_not_change_predictions(wide: bool) -> None:
    model = make_model(wide_convolution=wide)
    short = torch.tensor([[3, 4]])
    long = torch.randint(2, 50, (1, 40))
    batch = torch.zeros(2, 40, dtype=torch.long)
    batch[0, :2] = short[0]
    batch[1] = long[0]
    torch.testing.assert_close(model(batch)[0], model(short)[0])


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("length", [0, 1, 2, 4])
def test_texts_shorter_than_the_widest_kernel_work(length: int, wide: bool) -> None:
    model = make_model(kernel_sizes=(3, 4, 5), wide_convolution=wide)
    ids = torch.randint(2, 50, (2, length)) if length else torch.zeros(2, 0, dtype=torch.long)
    logits = model(ids)
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(("wide", "expected"), [(False, 0.0), (True, 2.0)])
def test_wide_convolution_adds_windows_that_overlap_the_edges(wide: bool, expected: float) -> None:
    """Text [a, b] with a width-2 filter that fires on a at its second position only.

    Narrow: one window (a, b) scores 0*a + 2*b = -2 -> 0. Wide adds (pad, a) = 2 and (b, pad) = 0.
    """
    config = ModelConfig(
        vocab_size=4, num_classes=2, embedding_dim=1, kernel_sizes=(2,), num_filters=1, wide_convolution=wide
    )
    model = TextCNN(config).eval()
    with torch.no_grad():
        model.embedding.weight[2:4, 0] = torch.tensor([1.0, -1.0])  # a = 1, b = -1
        model.convs[0].weight.copy_(torch.tensor([[[0.0, 2.0]]]))
        model.convs[0].bias.zero_()
    features = model.features(torch.tensor([[2, 3, 0, 0]]))
    assert features.item() == pytest.approx(expected)


@pytest.mark.parametrize(("wide", "expected_mean"), [(False, 3.0), (True, 2.0)])
def test_max_and_mean_pooling_average_over_the_texts_own_windows(wide: bool, expected_mean: float) -> None:
    """Text [a, b, c] = [1, 2, 3], a width-2 filter that sums its window, bias -1; padded to 6 tokens.

    Narrow windows (a, b) = 2 and (b, c) = 4: max 4, mean 3. Wide also has (pad, a) = 0 and
    (c, pad) = 2: max 4, mean (0 + 2 + 4 + 2) / 4 = 2. Padding windows never enter the mean.
    """
    config = ModelConfig(
        vocab_size=5,
        num_classes=2,
        embedding_dim=1,
        kernel_sizes=(2,),
        num_filters=1,
        wide_convolution=wide,
        pooling="max+mean",
    )
    model = TextCNN(config).eval()
    assert config.feature_dim == 2
    with torch.no_grad():
        model.embedding.weight[2:5, 0] = torch.tensor([1.0, 2.0, 3.0])
        model.convs[0].weight.fill_(1.0)
        model.convs[0].bias.fill_(-1.0)
    text = torch.tensor([[2, 3, 4]])
    padded = torch.tensor([[2, 3, 4, 0, 0, 0]])
    maximum, mean = model.features(padded)[0].tolist()
    assert maximum == pytest.approx(4.0)
    assert mean == pytest.approx(expected_mean)
    torch.testing.assert_close(model.features(text), model.features(padded))


def test_max_norm_caps_output_weight_vectors() -> None:
    model = make_model()
    with torch.no_grad():
        model.classifier.weight.mul_(100.0)
    model.apply_max_norm(3.0)
    norms = model.classifier.weight.norm(dim=1)
    assert torch.all(norms <= 3.0 + 1e-4)


def test_static_mode_freezes_embeddings_and_multichannel_keeps_one_frozen_copy() -> None:
    static = make_model(embedding_mode="static")
    assert not static.embedding.weight.requires_grad
    multi = make_model(embedding_mode="multichannel")
    assert multi.embedding.weight.requires_grad
    assert multi.static_embedding is not None and not multi.static_embedding.weight.requires_grad


def test_invalid_architecture_is_rejected() -> None:
    with pytest.raises(ValueError, match="kernel_sizes"):
        ModelConfig(vocab_size=10, num_classes=2, kernel_sizes=(0,))
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(vocab_size=10, num_classes=2, dropout=-0.1)
