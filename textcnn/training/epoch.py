"""One training epoch: its batches, word dropout, the steps, the mean loss, and stops between steps.

An epoch can start part-way (`PartialEpoch`, from a checkpoint written mid-epoch): its batch
order is drawn again from the generator state the checkpoint kept, and the steps already done
are skipped, so the resumed epoch continues exactly as the interrupted one would have.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from textcnn.batching import pad_batch, training_batches, widen_to_ladder
from textcnn.config import TrainConfig
from textcnn.devices import ProcessGroup
from textcnn.errors import TextCNNError
from textcnn.training.checkpoint import TrainingState
from textcnn.training.context import RunContext, TrainingData
from textcnn.training.step import Learner, train_step

logger = logging.getLogger(__name__)

LOSS_DISPLAY_EVERY = 20  # steps between progress-bar loss updates (each one waits for the GPU)


@dataclass(frozen=True)
class PartialEpoch:
    """How far an epoch got: steps done, their summed loss and row count, and seconds spent."""

    step: int = 0
    loss: float = 0.0
    seen: int = 0
    seconds: float = 0.0

    @classmethod
    def of(cls, state: TrainingState, group: ProcessGroup) -> PartialEpoch:
        """The unfinished epoch of a checkpoint, as this rank continues it."""
        if not group.is_main:  # the checkpoint's partial loss is every rank's: rank 0 carries it
            return cls(step=state.step, seconds=state.epoch_seconds)
        return cls(state.step, state.epoch_loss, state.epoch_seen, state.epoch_seconds)


@dataclass(frozen=True)
class EpochOutcome:
    train_loss: float  # mean over every rank's rows; NaN when the epoch was stopped
    started: float  # `time.perf_counter()` at the epoch's start, its earlier part included
    rng_state: Mapping[str, Any]  # the batch-order generator's state when the epoch began
    stopped: PartialEpoch | None = None  # where `should_stop` ended it, summed over ranks

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def checkpoint_stop(
    learner: Learner,
    context: RunContext,
    epoch: int,
    outcome: EpochOutcome,
    history: list[dict[str, Any]],
    **fields: Any,
) -> None:
    """Hand `context.on_checkpoint` the state of an epoch `should_stop` ended part-way (`outcome.stopped`).

    `fields` are the caller's kept-weights fields of `Learner.training_state` (best state, kept epochs).
    """
    done = outcome.stopped
    if context.on_checkpoint is None or done is None:
        return
    context.on_checkpoint(
        learner.training_state(
            epoch=epoch - 1,
            step=done.step,
            epoch_rng=outcome.rng_state,
            epoch_loss=done.loss,
            epoch_seen=done.seen,
            epoch_seconds=done.seconds,
            history=history,
            **fields,
        )
    )


def run_epoch(
    learner: Learner,
    data: TrainingData,
    config: TrainConfig,
    context: RunContext,
    *,
    epoch: int,
    desc: str,
    partial: PartialEpoch = PartialEpoch(),
) -> EpochOutcome:
    """Train one epoch (from `partial.step` on); raise `TextCNNError` if its loss is not finite."""
    group, device = context.process_group, context.device
    started = time.perf_counter() - partial.seconds
    learner.model.train()
    rng_state = copy.deepcopy(learner.rng.bit_generator.state)  # replays this epoch's batch order on resume
    batches = epoch_batches(data.lengths, config.batch_size, learner.rng, group)
    seen = partial.seen
    # Summed on the device: reading a GPU loss every step would make the host wait for each step.
    total_loss = torch.tensor(partial.loss, dtype=_sum_dtype(device), device=device)
    bar = tqdm(
        batches[partial.step :],
        initial=partial.step,
        total=len(batches),
        desc=desc,
        unit="batch",
        leave=False,
        disable=context.progress_disabled,
    )
    stopped = None
    class_weights = None
    if data.class_weights is not None:
        class_weights = torch.as_tensor(data.class_weights, dtype=torch.float32, device=device)
    for step, batch_indices in enumerate(bar, start=partial.step):
        if _stop_requested(context.should_stop, group, device):
            logger.log(
                context.log_level, "training stopped in epoch %d after %d of %d steps", epoch, step, len(batches)
            )
            # Every rank stops at this step, so the epoch's loss so far can be summed over them.
            loss_so_far, seen_so_far = _sum_over_ranks(total_loss, seen, group)
            stopped = PartialEpoch(step, loss_so_far, seen_so_far, time.perf_counter() - started)
            break
        if group.world_size > 1:
            _seed_rank_step(config.seed, epoch, step, group.rank, learner.generator)
        inputs, targets = collate_batch(data, batch_indices, learner, config, context)
        loss = train_step(learner, inputs, targets, config, device, class_weights)
        total_loss += loss.to(total_loss.dtype) * len(batch_indices)
        seen += len(batch_indices)
        if not bar.disable and ((step + 1) % LOSS_DISPLAY_EVERY == 0 or step + 1 == len(batches)):
            bar.set_postfix(loss=f"{total_loss.item() / seen:.4f}")
    bar.close()
    if stopped is not None:
        return EpochOutcome(train_loss=math.nan, started=started, rng_state=rng_state, stopped=stopped)
    train_loss = _mean_over_ranks(total_loss, seen, group)
    if not math.isfinite(train_loss):
        raise TextCNNError(
            f"training diverged: the loss became {train_loss} in epoch {epoch}; "
            "lower the learning rate, or check the data and any word vectors for bad values"
        )
    return EpochOutcome(train_loss=train_loss, started=started, rng_state=rng_state)


def epoch_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group: ProcessGroup
) -> list[np.ndarray]:
    """This rank's batches of an epoch; under torchrun every rank gets the same number of them."""
    batches = training_batches(lengths, batch_size, rng)
    if group.world_size > 1:
        usable = len(batches) // group.world_size * group.world_size or group.world_size
        batches = (batches * group.world_size)[:usable][group.rank :: group.world_size]
    return batches


def collate_batch(
    data: TrainingData, batch_indices: Sequence[int], learner: Learner, config: TrainConfig, context: RunContext
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded token ids (after word dropout) and targets of one batch, on the device."""
    model, device = learner.model, context.device
    inputs = pad_batch([data.sequences[i] for i in batch_indices], model.config.pad_id, model.min_length)
    if config.word_dropout > 0:
        inputs = _drop_words(inputs, config.word_dropout, model.config.pad_id, context.unk_id, learner.generator)
    # After the word dropout, whose random draws then do not depend on the ladder.
    inputs = widen_to_ladder(inputs, model.config.pad_id)
    targets = torch.from_numpy(data.targets[batch_indices])
    if device.type == "cuda":
        inputs, targets = inputs.pin_memory(), targets.pin_memory()
    return inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)


def _drop_words(
    inputs: torch.Tensor, rate: float, pad_id: int, unk_id: int, generator: torch.Generator
) -> torch.Tensor:
    """Replace each real token by [UNK] with probability `rate` (trains the [UNK] vector)."""
    drop = (torch.rand(inputs.shape, generator=generator) < rate) & (inputs != pad_id)
    return inputs.masked_fill(drop, unk_id)


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
