"""Analytic FLOP count of the network, for throughput-versus-peak reports.

Counts the multiply-adds of the convolutions and the output layer as 2 FLOPs each (the convention
of matmul GFLOP/s figures, so the two can be compared). Embedding lookups, bias adds, ReLU, the
max pool, the padding mask and the softmax are left out: they are memory-bound bookkeeping, a few
percent of the arithmetic at most.

"Useful" FLOPs count only the windows the model's max pool looks at: for a kernel of width `k`,
a text of `length` tokens has `max(length - k + 1, 1)` windows that lie inside it (narrow
convolution), or `max(length + k - 2, 0) + 1` that overlap it (wide convolution). Work spent
on padding (batches padded to their longest text, short texts padded to the widest kernel) is not
useful and is not counted, so FLOP/s computed from this is a lower bound on what the hardware did.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from textcnn.config import ModelConfig

#: Training step / forward pass. The backward pass of a convolution or linear layer is two
#: products of the forward's size (gradient of the input and of the weights), hence 1 + 2.
TRAINING_FLOPS_FACTOR = 3


def conv_flops_per_window(config: ModelConfig, kernel_size: int) -> int:
    """FLOPs of one kernel width at one position: every filter dots a (k x embedding_dim) window."""
    return 2 * config.embedding_dim * kernel_size * config.num_filters


def forward_flops_per_token(config: ModelConfig) -> int:
    """Convolution FLOPs per token of a long text (one window per token for each kernel width)."""
    return sum(conv_flops_per_window(config, k) for k in config.kernel_sizes)


def output_flops_per_text(config: ModelConfig) -> int:
    """FLOPs of the output layer for one text: (feature_dim) x (feature_dim, num_classes)."""
    return 2 * config.feature_dim * config.num_classes


def forward_flops(config: ModelConfig, lengths: Iterable[int]) -> int:
    """Useful forward FLOPs for texts of the given token lengths (after truncation to max_length)."""
    lengths_arr = np.minimum(np.fromiter(lengths, dtype=np.int64), config.max_length)
    total = len(lengths_arr) * output_flops_per_text(config)
    for k in config.kernel_sizes:
        edge = k - 1 if config.wide_convolution else 0
        windows = (np.maximum(lengths_arr - k + 2 * edge, 0) + 1).sum()
        total += int(windows) * conv_flops_per_window(config, k)
    return int(total)


def training_flops(config: ModelConfig, lengths: Iterable[int]) -> int:
    """Useful FLOPs of one training pass (forward + backward) over texts of these lengths."""
    return TRAINING_FLOPS_FACTOR * forward_flops(config, lengths)
