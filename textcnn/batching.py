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


def inference_batches(lengths: Sequence[int] | np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Batches of indices in length order (the caller restores input order)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int, min_length: int = 1) -> torch.Tensor:
    """Right-pad token id lists into a (batch, time) int64 tensor, time >= min_length."""
    width = max(min_length, max((len(s) for s in sequences), default=0))
    batch = np.full((len(sequences), width), pad_id, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
    return torch.from_numpy(batch)
