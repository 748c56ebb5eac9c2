"""The batched (fast) feature extractor equals a plain per-text reference of the same math."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from textcnn.config import EMBEDDING_MODES, ModelConfig
from textcnn.model import TextCNN

LENGTHS = [0, 1, 2, 3, 4, 5, 6, 11, 17]
TOLERANCE = 1e-5


def reference_features(model: TextCNN, texts: list[torch.Tensor]) -> torch.Tensor:
    """Each text alone, unbatched: every window of its tokens, or one window padded with pad_id if too short.

    Wide convolutions first add k - 1 pad ids on each side (Kim 2014), so windows overlap the edges.
    """
    rows = []
    for ids in texts:
        pooled = []
        for kernel_size, conv in zip(model.config.kernel_sizes, model.convs, strict=True):
            edge = kernel_size - 1 if model.config.wide_convolution else 0
            padded = F.pad(ids, (edge, edge), value=model.config.pad_id)
            padded = F.pad(padded, (0, max(0, kernel_size - len(padded))), value=model.config.pad_id)
            embedded = model.embedding(padded)  # (length, embedding_dim)
            if model.static_embedding is not None:
                embedded = embedded + model.static_embedding(padded)
            windows = embedded.unfold(0, kernel_size, 1)  # (windows, embedding_dim, kernel_size)
            scores = torch.einsum("wek,fek->wf", windows, conv.weight) + conv.bias  # (windows, num_filters)
            pooled.append(F.relu(scores.max(dim=0).values))
        rows.append(torch.cat(pooled))
    return torch.stack(rows)


def random_texts(lengths: list[int], vocab_size: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(1, vocab_size, (n,), generator=generator) for n in lengths]


def right_pad(texts: list[torch.Tensor], width: int) -> torch.Tensor:
    batch = torch.zeros(len(texts), width, dtype=torch.long)
    for row, ids in enumerate(texts):
        batch[row, : len(ids)] = ids
    return batch


def make_model(mode: str, kernel_sizes: tuple[int, ...], wide: bool = True) -> TextCNN:
    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=40,
        num_classes=3,
        embedding_dim=16,
        num_filters=6,
        kernel_sizes=kernel_sizes,
        embedding_mode=mode,
        wide_convolution=wide,
    )
    model = TextCNN(config)
    with torch.no_grad():  # large biases: a window over padding that leaked into the max would show
        for conv in model.convs:
            conv.bias.uniform_(-2.0, 2.0)
    return model


@pytest.mark.parametrize("wide", [True, False], ids=["wide", "narrow"])
@pytest.mark.parametrize("mode", EMBEDDING_MODES)
@pytest.mark.parametrize("kernel_sizes", [(3, 4, 5), (1, 2), (7, 3)])
def test_batched_features_equal_per_text_reference(mode: str, kernel_sizes: tuple[int, ...], wide: bool) -> None:
    model = make_model(mode, kernel_sizes, wide).eval()
    texts = random_texts(LENGTHS, model.config.vocab_size, seed=1)
    with torch.no_grad():
        expected = reference_features(model, texts)
        for width in (max(LENGTHS), max(LENGTHS) + 9):  # extra trailing padding changes nothing
            torch.testing.assert_close(model.features(right_pad(texts, width)), expected, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("wide", [True, False], ids=["wide", "narrow"])
@pytest.mark.parametrize("length", [0, 1, 2])
def test_batches_of_only_very_short_texts_match_reference(length: int, wide: bool) -> None:
    model = make_model("rand", (3, 4, 5), wide).eval()
    texts = random_texts([length] * 3, model.config.vocab_size, seed=2)
    with torch.no_grad():
        actual = model.features(right_pad(texts, length))
        torch.testing.assert_close(actual, reference_features(model, texts), rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("mode", EMBEDDING_MODES)
def test_gradients_equal_per_text_reference(mode: str) -> None:
    """Training uses the same path: gradients of every trainable parameter match the reference's."""
    model = make_model(mode, (3, 4, 5)).train()
    texts = random_texts(LENGTHS, model.config.vocab_size, seed=3)
    upstream = torch.randn(len(texts), model.config.feature_dim, generator=torch.Generator().manual_seed(4))
    params = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("classifier")]

    (model.features(right_pad(texts, max(LENGTHS) + 2)) * upstream).sum().backward()
    actual = [p.grad.clone() for p in params]
    model.zero_grad()
    (reference_features(model, texts) * upstream).sum().backward()
    for got, want in zip(actual, [p.grad for p in params], strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=TOLERANCE)
