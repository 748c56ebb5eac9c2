"""One optimisation step, and the model, optimiser and generators that steps update.

`prepare_learner` builds them in a fixed order from the seed (and restores a checkpoint's
state into them), so that a run, or a resumed run, draws the same random numbers every time.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from textcnn.config import TrainConfig
from textcnn.devices import autocast, autocast_dtype
from textcnn.model import TextCNN
from textcnn.training.checkpoint import KeptEpoch, TrainingState, capture_random
from textcnn.training.context import RunContext

Tensors = dict[str, torch.Tensor]

#: Devices with a fused AdamW kernel (torch >= 2.4 for "cpu").
FUSED_ADAMW_DEVICES = ("cpu", "cuda")


def build_optimizer(model: TextCNN, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adadelta":
        # Kim 2014 used Adadelta with rho 0.95, eps 1e-6; lr 1.0 is Adadelta's natural scale.
        return torch.optim.Adadelta(params, lr=config.lr, rho=0.95, eps=1e-6, weight_decay=config.weight_decay)
    # torch's fused kernel (CUDA and CPU) updates every parameter in one pass. On a CPU the default
    # is a per-tensor loop that took longer than the forward and backward passes of a sentence
    # batch: the embedding's gradient is dense, so every step updates all vocab x 300 weights.
    fused = bool(params) and all(p.device.type in FUSED_ADAMW_DEVICES for p in params)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None)


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


@dataclass
class Learner:
    """What the training steps update: the model (wrapped for DDP as `network`), the optimiser,
    the mixed-precision scaler, and the generators for batch order (`rng`) and word dropout."""

    model: TextCNN
    network: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    rng: np.random.Generator
    generator: torch.Generator

    def training_state(
        self,
        *,
        epoch: int,
        epoch_rng: Mapping[str, Any],
        history: list[dict[str, Any]],
        step: int = 0,
        epoch_loss: float = 0.0,
        epoch_seen: int = 0,
        epoch_seconds: float = 0.0,
        best_state: Tensors,
        best_key: tuple[float, float] | None = None,
        best_epoch: int = 0,
        best_valid_accuracy: float = float("nan"),
        epochs_without_gain: int = 0,
        top_epochs: list[KeptEpoch] | None = None,
    ) -> TrainingState:
        """The run's complete state after `epoch` epochs and `step` steps of the next one.

        `epoch_rng` is the batch-order generator's state as of the start of that next epoch.
        """
        return TrainingState(
            epoch=epoch,
            step=step,
            model_state=self.model.state_dict(),
            optimizer_state=self.optimizer.state_dict(),
            scaler_state=self.scaler.state_dict(),
            best_state=best_state,
            best_key=best_key,
            best_epoch=best_epoch,
            best_valid_accuracy=best_valid_accuracy,
            epochs_without_gain=epochs_without_gain,
            history=list(history),
            random=capture_random(dict(epoch_rng), self.generator),
            epoch_loss=epoch_loss,
            epoch_seen=epoch_seen,
            epoch_seconds=epoch_seconds,
            top_epochs=list(top_epochs or []),
        )


def prepare_learner(
    model: TextCNN, config: TrainConfig, context: RunContext, resume: TrainingState | None = None
) -> Learner:
    """Seed, move `model` to the device, build its optimiser and generators, restore `resume`."""
    rng = seed_everything(config.seed)
    model.to(context.device)
    optimizer = build_optimizer(model, config)
    scaler = torch.amp.GradScaler("cuda", enabled=autocast_dtype(context.device) == torch.float16)
    generator = torch.Generator().manual_seed(config.seed)
    if resume is not None:
        resume.restore(model, optimizer, scaler, rng, generator)
    network: torch.nn.Module = model
    if context.process_group.world_size > 1:
        device = context.device
        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return Learner(model, network, optimizer, scaler, rng, generator)


def train_step(
    learner: Learner,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    config: TrainConfig,
    device: torch.device,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Forward, cross-entropy, backward, gradient clip, optimiser step, max-norm; the loss, detached.

    With `class_weights` each row's cross-entropy is multiplied by its class's weight and the batch
    loss is their weighted mean (torch's `weight` argument).
    """
    with autocast(device):
        logits = learner.network(inputs)
    loss = F.cross_entropy(logits.float(), targets, weight=class_weights)
    learner.optimizer.zero_grad(set_to_none=True)
    learner.scaler.scale(loss).backward()
    if config.grad_clip > 0:
        learner.scaler.unscale_(learner.optimizer)
        torch.nn.utils.clip_grad_norm_(learner.model.parameters(), config.grad_clip)
    learner.scaler.step(learner.optimizer)
    learner.scaler.update()
    learner.model.apply_max_norm(config.max_norm)
    return loss.detach()


def cpu_state(model: torch.nn.Module) -> Tensors:
    """A CPU copy of `model`'s weights, safe from the steps that follow."""
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in copy.copy(model.state_dict()).items()}
