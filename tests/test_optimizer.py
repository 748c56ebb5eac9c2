"""The optimizer training builds: fused AdamW on CPU (the per-tensor default doubled a sentence step)."""

from __future__ import annotations

import torch

from textcnn.config import ModelConfig, TrainConfig
from textcnn.model import TextCNN
from textcnn.training.loop import build_optimizer


def test_adamw_on_cpu_is_fused_and_skips_frozen_embeddings() -> None:
    model = TextCNN(ModelConfig(vocab_size=30, num_classes=2, embedding_mode="static"))
    optimizer = build_optimizer(model, TrainConfig(lr=1e-3))
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["fused"] is True
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert id(model.embedding.weight) not in optimized
    assert id(model.classifier.weight) in optimized


def test_adadelta_keeps_kims_settings() -> None:
    model = TextCNN(ModelConfig(vocab_size=30, num_classes=2))
    optimizer = build_optimizer(model, TrainConfig(optimizer="adadelta", lr=1.0))
    assert isinstance(optimizer, torch.optim.Adadelta)
    assert (optimizer.defaults["rho"], optimizer.defaults["eps"]) == (0.95, 1e-6)
