"""The training loop: mini-batches, early stopping on validation accuracy, best weights kept.

Reports through a returned history and optional per-epoch callbacks, never through prints.
Runs on CPU, CUDA (autocast + pinned memory) and under torchrun with DistributedDataParallel.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from textcnn.batching import pad_batch, training_batches
from textcnn.config import TrainConfig
from textcnn.devices import ProcessGroup, autocast, autocast_dtype
from textcnn.inference import predict_logits
from textcnn.model import TextCNN

logger = logging.getLogger(__name__)

EpochCallback = Callable[[dict[str, Any]], None]


@dataclass
class TrainingResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_accuracy: float = float("nan")


def build_optimizer(model: TextCNN, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adadelta":
        # Kim 2014 used Adadelta with rho 0.95, eps 1e-6; lr 1.0 is Adadelta's natural scale.
        return torch.optim.Adadelta(params, lr=config.lr, rho=0.95, eps=1e-6, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def train_model(
    model: TextCNN,
    train_sequences: Sequence[Sequence[int]],
    train_targets: np.ndarray,
    valid_sequences: Sequence[Sequence[int]],
    valid_targets: np.ndarray,
    config: TrainConfig,
    *,
    device: torch.device,
    unk_id: int,
    process_group: ProcessGroup | None = None,
    callbacks: Sequence[EpochCallback] = (),
    show_progress: bool | None = None,
) -> TrainingResult:
    """Fit `model` in place and leave it holding the weights of its best validation epoch.

    `show_progress=None` shows a progress bar only when stderr is a terminal.
    """
    group = process_group or ProcessGroup()
    rng = seed_everything(config.seed)
    model.to(device)
    network: torch.nn.Module = model
    if group.world_size > 1:
        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = build_optimizer(model, config)
    scaler = torch.amp.GradScaler("cuda", enabled=autocast_dtype(device) == torch.float16)
    train_targets = np.asarray(train_targets, dtype=np.int64)
    valid_targets = np.asarray(valid_targets, dtype=np.int64)
    lengths = np.fromiter((len(s) for s in train_sequences), dtype=np.int64, count=len(train_sequences))
    generator = torch.Generator().manual_seed(config.seed)
    disable_bar = (not group.is_main) or (None if show_progress is None else not show_progress)

    result = TrainingResult()
    best_state = _cpu_state(model)
    best_key = (-math.inf, -math.inf)
    epochs_without_gain = 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        batches = training_batches(lengths, config.batch_size, rng)
        if group.world_size > 1:  # every rank must run the same number of steps
            usable = len(batches) // group.world_size * group.world_size or group.world_size
            batches = (batches * group.world_size)[:usable][group.rank :: group.world_size]
        total_loss, seen = 0.0, 0
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", leave=False, disable=disable_bar)
        for batch_indices in bar:
            inputs = pad_batch([train_sequences[i] for i in batch_indices], model.config.pad_id, model.min_length)
            if config.word_dropout > 0:
                inputs = _drop_words(inputs, config.word_dropout, model.config.pad_id, unk_id, generator)
            targets = torch.from_numpy(train_targets[batch_indices])
            if device.type == "cuda":
                inputs, targets = inputs.pin_memory(), targets.pin_memory()
            inputs = inputs.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            with autocast(device):
                logits = network(inputs)
            loss = F.cross_entropy(logits.float(), targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            model.apply_max_norm(config.max_norm)
            total_loss += loss.item() * len(batch_indices)
            seen += len(batch_indices)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}")
        bar.close()

        valid_logits = predict_logits(model, valid_sequences, batch_size=max(256, config.batch_size), device=device)
        valid_loss = float(F.cross_entropy(torch.from_numpy(valid_logits), torch.from_numpy(valid_targets)))
        valid_accuracy = float((valid_logits.argmax(axis=1) == valid_targets).mean())
        record = {
            "epoch": epoch,
            "train_loss": total_loss / max(seen, 1),
            "valid_loss": valid_loss,
            "valid_accuracy": valid_accuracy,
            "seconds": round(time.perf_counter() - started, 3),
        }
        result.history.append(record)
        logger.info(
            "epoch %d: train_loss %.4f valid_loss %.4f valid_accuracy %.4f (%.1fs)",
            epoch,
            record["train_loss"],
            valid_loss,
            valid_accuracy,
            record["seconds"],
        )
        for callback in callbacks:
            callback(record)

        key = (valid_accuracy, -valid_loss)
        if key > best_key:
            best_key = key
            best_state = _cpu_state(model)
            result.best_epoch = epoch
            result.best_valid_accuracy = valid_accuracy
            epochs_without_gain = 0
        else:
            epochs_without_gain += 1
            if epochs_without_gain >= config.patience:
                logger.info("early stopping after epoch %d (best epoch %d)", epoch, result.best_epoch)
                break
    model.load_state_dict(best_state)
    return result


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in copy.copy(model.state_dict()).items()}


def _drop_words(
    inputs: torch.Tensor, rate: float, pad_id: int, unk_id: int, generator: torch.Generator
) -> torch.Tensor:
    """Replace each real token by [UNK] with probability `rate` (trains the [UNK] vector)."""
    drop = (torch.rand(inputs.shape, generator=generator) < rate) & (inputs != pad_id)
    return inputs.masked_fill(drop, unk_id)
