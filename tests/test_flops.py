"""The analytic FLOP count agrees with what torch actually multiplies."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from textcnn.config import ModelConfig
from textcnn.flops import (
    TRAINING_FLOPS_FACTOR,
    forward_flops,
    forward_flops_per_token,
    training_flops,
)
from textcnn.model import TextCNN

CONFIG = ModelConfig(
    vocab_size=40,
    num_classes=3,
    embedding_dim=6,
    kernel_sizes=(2, 3, 5),
    num_filters=4,
    max_length=64,
    wide_convolution=False,
)
WIDE = dataclasses.replace(CONFIG, wide_convolution=True)


def counted_forward(model: TextCNN, length: int) -> int:
    ids = torch.randint(2, 40, (1, length))
    with FlopCounterMode(display=False) as counter:
        model(ids)
    return counter.get_total_flops()


@pytest.mark.parametrize("config", [CONFIG, WIDE], ids=["narrow", "wide"])
def test_forward_count_matches_torch_flop_counter(config: ModelConfig) -> None:
    model = TextCNN(config).eval()
    for length in (5, 9, 30):  # >= widest kernel: torch computes exactly the useful windows
        assert forward_flops(config, [length]) == counted_forward(model, length)


def test_wide_convolution_counts_the_windows_over_the_edges() -> None:
    # k - 1 more windows on each side: 2 * (k - 1) per kernel width, times its FLOPs per window
    extra = forward_flops(WIDE, [10]) - forward_flops(CONFIG, [10])
    assert extra == sum(2 * (k - 1) * 2 * 6 * k * 4 for k in (2, 3, 5))


def test_training_count_matches_forward_plus_backward() -> None:
    model = TextCNN(CONFIG).train()
    ids = torch.randint(2, 40, (1, 12))
    with FlopCounterMode(display=False) as counter:
        model(ids).sum().backward()
    assert training_flops(CONFIG, [12]) == counter.get_total_flops()
    assert training_flops(CONFIG, [12]) == TRAINING_FLOPS_FACTOR * forward_flops(CONFIG, [12])


def test_per_token_count_is_the_long_text_limit() -> None:
    # 2 * embedding_dim * k * num_filters per kernel width: 2*6*4*(2+3+5)
    assert forward_flops_per_token(CONFIG) == 480
    one_more_token = forward_flops(CONFIG, [41]) - forward_flops(CONFIG, [40])
    assert one_more_token == forward_flops_per_token(CONFIG)


def test_short_texts_count_one_window_per_kernel_and_long_ones_are_truncated() -> None:
    output = 2 * CONFIG.feature_dim * CONFIG.num_classes
    one_window_each = forward_flops_per_token(CONFIG) + output
    assert forward_flops(CONFIG, [0]) == forward_flops(CONFIG, [1]) == one_window_each
    assert forward_flops(CONFIG, [1000]) == forward_flops(CONFIG, [CONFIG.max_length])
    assert forward_flops(CONFIG, [3, 7, 7]) == forward_flops(CONFIG, [3]) + 2 * forward_flops(CONFIG, [7])
    assert forward_flops(CONFIG, []) == 0
