"""The training loop: mini-batches, early stopping on validation accuracy, best weights kept.

A second mode refits without validation data: given the epochs a validated run chose
(`average_epochs`), it trains exactly that long and ends with the mean of those epochs' weights.

Reports through a returned history and optional per-epoch callbacks, never through prints.
Runs on CPU, CUDA (autocast + pinned memory) and under torchrun with DistributedDataParallel.
Can be stopped between two steps (`should_stop`), hands out its complete state after every epoch
and on stopping (`on_checkpoint`), and continues exactly from such a state (`resume`); see
`textcnn.training.checkpoint`.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from textcnn.batching import pad_batch, training_batches, widen_to_ladder
from textcnn.config import TrainConfig
from textcnn.devices import ProcessGroup, autocast, autocast_dtype
from textcnn.errors import TextCNNError
from textcnn.inference import predict_logits
from textcnn.model import TextCNN
from textcnn.training.checkpoint import KeptEpoch, TrainingState, capture_random

logger = logging.getLogger(__name__)

EpochCallback = Callable[[dict[str, Any]], None]
CheckpointCallback = Callable[[TrainingState], None]
LOSS_DISPLAY_EVERY = 20  # steps between progress-bar loss updates (each one waits for the GPU)


@dataclass
class TrainingResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_accuracy: float = float("nan")
    interrupted: bool = False  # `should_stop` ended training early; the model holds the best epoch so far
    averaged_epochs: list[int] = field(default_factory=list)  # epochs whose weights were averaged, if any
    # Validation accuracy of the weights the model ends with: the best epoch's, or their average's.
    final_valid_accuracy: float = float("nan")


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
    resume: TrainingState | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: CheckpointCallback | None = None,
    average_epochs: Sequence[int] | None = None,
) -> TrainingResult:
    """Fit `model` in place and leave it holding the weights of its best validation epoch.

    With `average_epochs` (the refit mode) there is no validation: the validation arguments are
    ignored, training runs `max(average_epochs)` epochs whatever `config.epochs` and
    `config.patience` say, and the model ends with the mean of the weights after those epochs.

    `show_progress=None` shows a progress bar only when stderr is a terminal. `should_stop` is
    polled before every step: once it answers True, training ends there (`interrupted=True`).
    `on_checkpoint` receives the loop's state after every epoch and on such a stop; passing one
    of those states back as `resume` continues the run exactly where it was.
    """
    group = process_group or ProcessGroup()
    level = group.log_level  # under torchrun every rank runs this loop; the main one reports
    refit_epochs = sorted(set(average_epochs)) if average_epochs else None
    last_epoch = refit_epochs[-1] if refit_epochs else config.epochs
    rng = seed_everything(config.seed)
    model.to(device)
    optimizer = build_optimizer(model, config)
    scaler = torch.amp.GradScaler("cuda", enabled=autocast_dtype(device) == torch.float16)
    generator = torch.Generator().manual_seed(config.seed)
    if resume is not None:
        resume.restore(model, optimizer, scaler, rng, generator)
    network: torch.nn.Module = model
    if group.world_size > 1:
        network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    train_targets = np.asarray(train_targets, dtype=np.int64)
    valid_targets = np.asarray(valid_targets, dtype=np.int64)
    lengths = np.fromiter((len(s) for s in train_sequences), dtype=np.int64, count=len(train_sequences))
    disable_bar = (not group.is_main) or (None if show_progress is None else not show_progress)

    result = TrainingResult()
    best_state = _cpu_state(model)
    best_key = (-math.inf, -math.inf)
    epochs_without_gain = 0
    top_epochs: list[KeptEpoch] = []
    first_epoch, done_steps, done_loss, done_seen, done_seconds = 1, 0, 0.0, 0, 0.0
    if resume is not None:
        best_state, best_key = resume.best_state, resume.best_key or best_key
        epochs_without_gain = resume.epochs_without_gain
        top_epochs = list(resume.top_epochs)
        result.history = list(resume.history)
        result.best_epoch, result.best_valid_accuracy = resume.best_epoch, resume.best_valid_accuracy
        first_epoch, done_steps = resume.epoch + 1, resume.step
        done_loss, done_seen, done_seconds = resume.epoch_loss, resume.epoch_seen, resume.epoch_seconds
        if not group.is_main:  # the checkpoint's partial loss is every rank's: rank 0 carries it
            done_loss, done_seen = 0.0, 0
        if refit_epochs is None and epochs_without_gain >= config.patience:  # it had stopped early already
            first_epoch = last_epoch + 1

    def snapshot(
        epoch_done: int, step: int, epoch_rng: Mapping[str, Any], loss: float, seen: int, secs: float
    ) -> TrainingState:
        return TrainingState(
            epoch=epoch_done,
            step=step,
            model_state=model.state_dict(),
            optimizer_state=optimizer.state_dict(),
            scaler_state=scaler.state_dict(),
            best_state=best_state,
            best_key=best_key if result.best_epoch else None,
            best_epoch=result.best_epoch,
            best_valid_accuracy=result.best_valid_accuracy,
            epochs_without_gain=epochs_without_gain,
            history=list(result.history),
            random=capture_random(epoch_rng, generator),
            epoch_loss=loss,
            epoch_seen=seen,
            epoch_seconds=secs,
            top_epochs=list(top_epochs),
        )

    for epoch in range(first_epoch, last_epoch + 1):
        started = time.perf_counter() - done_seconds
        model.train()
        epoch_rng = copy.deepcopy(rng.bit_generator.state)  # replays this epoch's batch order on resume
        batches = training_batches(lengths, config.batch_size, rng)
        if group.world_size > 1:  # every rank must run the same number of steps
            usable = len(batches) // group.world_size * group.world_size or group.world_size
            batches = (batches * group.world_size)[:usable][group.rank :: group.world_size]
        skip, seen = done_steps, done_seen
        # Summed on the device: reading a GPU loss every step would make the host wait for each step.
        total_loss = torch.tensor(done_loss, dtype=_sum_dtype(device), device=device)
        done_steps, done_loss, done_seen, done_seconds = 0, 0.0, 0, 0.0
        bar = tqdm(
            batches[skip:],
            initial=skip,
            total=len(batches),
            desc=f"{'refit ' if refit_epochs else ''}epoch {epoch}/{last_epoch}",
            unit="batch",
            leave=False,
            disable=disable_bar,
        )
        for step, batch_indices in enumerate(bar, start=skip):
            if _stop_requested(should_stop, group, device):
                result.interrupted = True
                logger.log(level, "training stopped in epoch %d after %d of %d steps", epoch, step, len(batches))
                # Every rank stops at this step, so the epoch's loss so far can be summed over them.
                loss_so_far, seen_so_far = _sum_over_ranks(total_loss, seen, group)
                if on_checkpoint is not None:
                    seconds = time.perf_counter() - started
                    on_checkpoint(snapshot(epoch - 1, step, epoch_rng, loss_so_far, seen_so_far, seconds))
                break
            if group.world_size > 1:
                _seed_rank_step(config.seed, epoch, step, group.rank, generator)
            inputs = pad_batch([train_sequences[i] for i in batch_indices], model.config.pad_id, model.min_length)
            if config.word_dropout > 0:
                inputs = _drop_words(inputs, config.word_dropout, model.config.pad_id, unk_id, generator)
            # After the word dropout, whose random draws then do not depend on the ladder.
            inputs = widen_to_ladder(inputs, model.config.pad_id)
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
            total_loss += loss.detach().to(total_loss.dtype) * len(batch_indices)
            seen += len(batch_indices)
            if not bar.disable and ((step + 1) % LOSS_DISPLAY_EVERY == 0 or step + 1 == len(batches)):
                bar.set_postfix(loss=f"{total_loss.item() / seen:.4f}")
        bar.close()
        if result.interrupted:
            break
        train_loss = _mean_over_ranks(total_loss, seen, group)
        if not math.isfinite(train_loss):
            raise TextCNNError(
                f"training diverged: the loss became {train_loss} in epoch {epoch}; "
                "lower the learning rate, or check the data and any word vectors for bad values"
            )
        if refit_epochs is not None:
            record = {
                "epoch": epoch,
                "refit": True,
                "train_loss": train_loss,
                "seconds": round(time.perf_counter() - started, 3),
            }
            result.history.append(record)
            logger.log(level, "refit epoch %d: train_loss %.4f (%.1fs)", epoch, record["train_loss"], record["seconds"])
            for callback in callbacks:
                callback(record)
            if epoch in refit_epochs:
                top_epochs.append(((0.0, 0.0), epoch, _cpu_state(model)))
            if on_checkpoint is not None:
                on_checkpoint(snapshot(epoch, 0, rng.bit_generator.state, 0.0, 0, 0.0))
            continue

        valid_accuracy, valid_loss = _validate(model, valid_sequences, valid_targets, config, device)
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "valid_loss": valid_loss,
            "valid_accuracy": valid_accuracy,
            "seconds": round(time.perf_counter() - started, 3),
        }
        result.history.append(record)
        logger.log(
            level,
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
        # One CPU copy of this epoch's weights serves both the kept epochs and the best state.
        epoch_state = _cpu_state(model) if config.average_best > 1 or key > best_key else None
        if epoch_state is not None and config.average_best > 1:
            top_epochs = _keep_best(top_epochs, (key, epoch, epoch_state), config.average_best)
        if epoch_state is not None and key > best_key:
            best_key = key
            best_state = epoch_state
            result.best_epoch = epoch
            result.best_valid_accuracy = valid_accuracy
            epochs_without_gain = 0
        else:
            epochs_without_gain += 1
        if on_checkpoint is not None:
            on_checkpoint(snapshot(epoch, 0, rng.bit_generator.state, 0.0, 0, 0.0))
        if epochs_without_gain >= config.patience:
            logger.log(level, "early stopping after epoch %d (best epoch %d)", epoch, result.best_epoch)
            break
    if refit_epochs is not None:
        if top_epochs and not result.interrupted:  # an interrupted refit's weights are not kept
            model.load_state_dict(average_states([state for _, _, state in top_epochs]))
            result.averaged_epochs = sorted(epoch for _, epoch, _ in top_epochs)
    elif config.average_best > 1 and len(top_epochs) > 1:
        model.load_state_dict(average_states([state for _, _, state in top_epochs]))
        result.averaged_epochs = sorted(epoch for _, epoch, _ in top_epochs)
        result.final_valid_accuracy, _ = _validate(model, valid_sequences, valid_targets, config, device)
    else:
        model.load_state_dict(best_state)
        result.final_valid_accuracy = result.best_valid_accuracy
    return result


def _validate(
    model: TextCNN,
    sequences: Sequence[Sequence[int]],
    targets: np.ndarray,
    config: TrainConfig,
    device: torch.device,
) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `model` on the validation set."""
    logits = predict_logits(model, sequences, batch_size=max(256, config.batch_size), device=device)
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets)))
    return float((logits.argmax(axis=1) == targets).mean()), loss


def _keep_best(kept: list[KeptEpoch], candidate: KeptEpoch, size: int) -> list[KeptEpoch]:
    """The `size` best (key, epoch, weights) by key; on equal keys the earlier epoch stays."""
    return sorted([*kept, candidate], key=lambda item: (item[0], -item[1]), reverse=True)[:size]


def average_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of state dicts with the same keys and shapes (checkpoint averaging).

    A tensor equal in every state (frozen embeddings) is kept as it is: a float mean of identical
    values may differ from them in the last bit.
    """
    averaged = {}
    for name, first in states[0].items():
        if all(torch.equal(first, state[name]) for state in states[1:]):
            averaged[name] = first
        else:
            averaged[name] = torch.stack([state[name].float() for state in states]).mean(0).to(first.dtype)
    return averaged


def _stop_requested(should_stop: Callable[[], bool] | None, group: ProcessGroup, device: torch.device) -> bool:
    """Poll `should_stop`; under torchrun every rank stops at the same step if any rank was asked to."""
    if should_stop is None:
        return False
    stop = bool(should_stop())
    if group.world_size > 1:
        flag = torch.tensor([float(stop)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        stop = bool(flag.item())
    return stop


def _mean_over_ranks(total: torch.Tensor, count: int, group: ProcessGroup) -> float:
    """`total / count` over every rank's share of the epoch (each rank trains on its own batches)."""
    summed, counted = _sum_over_ranks(total, count, group)
    return summed / max(counted, 1)


def _sum_over_ranks(total: torch.Tensor, count: int, group: ProcessGroup) -> tuple[float, int]:
    """`total` and `count` summed over every rank (a collective under torchrun: all ranks call it)."""
    if group.world_size > 1:
        summed = torch.stack([total, torch.tensor(float(count), dtype=total.dtype, device=total.device)])
        dist.all_reduce(summed)
        return summed[0].item(), int(summed[1].item())
    return total.item(), count


def _seed_rank_step(seed: int, epoch: int, step: int, rank: int, generator: torch.Generator) -> None:
    """Under torchrun, seed each step's dropout and word dropout from (seed, epoch, step, rank).

    Each rank draws its own amount of random numbers (its batches differ in shape), and a
    checkpoint, written by rank 0, holds rank 0's generators only. Seeded per step, every rank's
    draws are known at any step, so a resumed run continues exactly as an uninterrupted one would.
    """
    step_seed = int(np.random.SeedSequence([seed, epoch, step, rank]).generate_state(1)[0])
    torch.manual_seed(step_seed)
    generator.manual_seed(step_seed)


def _sum_dtype(device: torch.device) -> torch.dtype:
    """float64 for running sums, except on Apple's MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in copy.copy(model.state_dict()).items()}


def _drop_words(
    inputs: torch.Tensor, rate: float, pad_id: int, unk_id: int, generator: torch.Generator
) -> torch.Tensor:
    """Replace each real token by [UNK] with probability `rate` (trains the [UNK] vector)."""
    drop = (torch.rand(inputs.shape, generator=generator) < rate) & (inputs != pad_id)
    return inputs.masked_fill(drop, unk_id)
