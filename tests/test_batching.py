"""Length-aware inference batches, with and without a cap on padded tokens; training batch widths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from textcnn.batching import inference_batches, ladder_width, pad_batch, widen_to_ladder
from textcnn.config import ModelConfig
from textcnn.errors import TextCNNError
from textcnn.inference import CPU_BATCH_ACTIVATIONS, cpu_batch_tokens, predict_logits
from textcnn.model import TextCNN


def padded_sizes(batches: list[np.ndarray], lengths: np.ndarray) -> list[int]:
    return [len(batch) * int(lengths[batch].max()) for batch in batches]


@pytest.mark.parametrize("max_tokens", [None, 1, 40, 300, 10_000])
def test_every_text_is_in_exactly_one_batch_longest_batches_first(max_tokens: int | None) -> None:
    lengths = np.random.default_rng(0).integers(0, 60, size=500)
    batches = inference_batches(lengths, 32, max_tokens)
    assert sorted(np.concatenate(batches).tolist()) == list(range(500))
    assert all(1 <= len(batch) <= 32 for batch in batches)
    longest = [int(lengths[batch].max()) for batch in batches]
    assert longest == sorted(longest, reverse=True)


def test_a_token_cap_bounds_padded_batch_sizes_and_they_never_grow() -> None:
    lengths = np.random.default_rng(1).integers(1, 513, size=3000)
    sizes = padded_sizes(inference_batches(lengths, 256, 18_000), lengths)
    assert max(sizes) <= 18_000
    assert all(later <= earlier for earlier, later in itertools.pairwise(sizes))
    counts = {len(batch) for batch in inference_batches(lengths, 256, 18_000)}
    assert len(counts) <= 8  # a few recurring shapes: the count only doubles as lengths fall


def test_short_texts_still_fill_whole_batches_under_a_cap() -> None:
    lengths = np.full(1000, 20)
    assert [len(batch) for batch in inference_batches(lengths, 256, 18_000)][:3] == [256, 256, 256]


def test_a_text_longer_than_the_cap_gets_a_batch_of_its_own() -> None:
    lengths = np.array([5, 900, 5, 5])
    batches = inference_batches(lengths, 4, 100)
    assert batches[0].tolist() == [1]


def test_the_cpu_cap_leaves_sentence_batches_whole_and_splits_document_batches() -> None:
    sentences = ModelConfig(vocab_size=100, num_classes=2)  # Kim's 100 filters per width
    documents = ModelConfig(vocab_size=100, num_classes=2, num_filters=300, max_length=512)
    assert cpu_batch_tokens(sentences) // 64 >= 256  # 256 texts of up to 64 tokens: unchanged
    assert cpu_batch_tokens(documents) // 512 < 256
    assert cpu_batch_tokens(documents) * 300 * 3 <= CPU_BATCH_ACTIVATIONS


def test_capped_batches_give_the_same_logits() -> None:
    torch.manual_seed(0)
    model = TextCNN(ModelConfig(vocab_size=50, num_classes=3, embedding_dim=8, num_filters=4))
    rng = np.random.default_rng(2)
    sequences = [rng.integers(1, 50, size=int(n)).tolist() for n in rng.integers(0, 40, size=90)]
    whole = predict_logits(model, sequences, batch_size=32, max_batch_tokens=None)
    capped = predict_logits(model, sequences, batch_size=32, max_batch_tokens=50)
    automatic = predict_logits(model, sequences, batch_size=32)
    np.testing.assert_allclose(capped, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(automatic, whole, rtol=1e-5, atol=1e-6)


def test_a_token_cap_other_than_a_number_none_or_auto_is_refused_by_name() -> None:
    model = TextCNN(ModelConfig(vocab_size=50, num_classes=2, embedding_dim=8, num_filters=4))
    with pytest.raises(TextCNNError, match="max_batch_tokens must be a whole number, None or 'auto', not 'many'"):
        predict_logits(model, [[1, 2, 3]], max_batch_tokens="many")


def test_ladder_widths_are_few_and_add_at_most_a_quarter() -> None:
    widths = {ladder_width(w) for w in range(1, 513)}
    assert len(widths) == 32  # 1-8, then four per octave up to 512
    for width in range(1, 2049):
        rounded = ladder_width(width)
        assert width <= rounded <= max(8, 1.25 * width)
        assert ladder_width(rounded) == rounded
    assert [ladder_width(w) for w in (9, 65, 129, 300, 513)] == [10, 80, 160, 320, 640]


@pytest.mark.parametrize("pooling", ["max", "max+mean"])
def test_widening_a_batch_to_the_ladder_changes_no_logit(pooling: str) -> None:
    torch.manual_seed(0)
    model = TextCNN(ModelConfig(vocab_size=50, num_classes=3, embedding_dim=8, num_filters=4, pooling=pooling)).eval()
    rng = np.random.default_rng(0)
    batch = pad_batch([rng.integers(2, 50, size=n).tolist() for n in (33, 20, 7)], pad_id=0)
    widened = widen_to_ladder(batch, pad_id=0)
    assert widened.shape == (3, 40) and torch.equal(widened[:, :33], batch) and (widened[:, 33:] == 0).all()
    torch.testing.assert_close(model(widened), model(batch))
    assert widen_to_ladder(widened, pad_id=0) is widened  # already on the ladder
