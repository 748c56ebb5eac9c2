"""Length-aware batching: group texts of similar length so little compute is spent on padding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: Training batches are formed inside shuffled pools this many batches large, then sorted by
#: length: close to the padding savings of a global sort while keeping batches random.
POOL_BATCHES = 50


def training_batches(
    lengths: Sequence[int] | np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of indices, each drawn from a pool of similar lengths."""
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    pool_size = batch_size * POOL_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool_size):
        pool = order[start : start + pool_size]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        batches.extend(pool[i : i + batch_size] for i in range(0, len(pool), batch_size))
    rng.shuffle(batches)
    return batches


def inference_batches(
    lengths: Sequence[int] | np.ndarray, batch_size: int, max_tokens: int | None = None
) -> list[np.ndarray]:
    """Batches of indices of similar lengths, longest batch first (the caller restores input order).

    Longest first: each later batch's buffers then fit in memory the allocator already holds.
    In ascending order every batch needs slightly larger buffers than all before it, and glibc's
    heap grows by hundreds of MB per few thousand texts.

    With `max_tokens`, a batch also holds no more texts than keep its padded size (texts x its
    longest text) within that many tokens. The count starts there for the longest texts and only
    doubles as lengths fall, when the doubled batch is no larger than the one before it: padded
    sizes never grow, so every batch reuses memory a previous one freed, and only a few shapes recur
    (texts of varied counts and lengths would fragment the heap instead).
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    if max_tokens is None:
        batches: list[np.ndarray] = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        return batches[::-1]
    order = order[::-1]  # longest first: each batch's first text is its longest
    batches = []
    count = previous_size = start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        if not batches:
            count = min(batch_size, max(1, max_tokens // max(longest, 1)))
        while count * 2 <= batch_size and count * 2 * longest <= previous_size:
            count *= 2
        batches.append(order[start : start + count][::-1])
        previous_size = count * longest
        start += count
    return batches


def ladder_width(width: int) -> int:
    """`width` rounded up to one of four sizes per octave (..., 64, 80, 96, 112, 128, 160, ...).

    Training batches padded to these widths come in a few dozen tensor shapes instead of one per
    text length: with a shape per length, buffers of ever new sizes fragment glibc's heap and
    training's peak memory grows (see docs/measurements.md, "Training memory"). Padding is masked,
    so the width changes no text's output; it costs at most 25% more padded tokens.
    """
    step = 1 << max(0, width.bit_length() - 3)
    return -(-width // step) * step


def widen_to_ladder(batch: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Right-pad a (batch, time) tensor of token ids to `ladder_width(time)` columns."""
    extra = ladder_width(batch.shape[1]) - batch.shape[1]
    return torch.nn.functional.pad(batch, (0, extra), value=pad_id) if extra else batch


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int, min_length: int = 1) -> torch.Tensor:
    """Right-pad token id lists into a (batch, time) int64 tensor, time >= min_length."""
    width = max(min_length, max((len(s) for s in sequences), default=0))
    batch = np.full((len(sequences), width), pad_id, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
    return torch.from_numpy(batch)
