"""Training with validation: epochs until early stopping, ending with the best (or averaged) weights.

The pieces live in their own modules: one optimisation step (`textcnn.training.step`), one epoch
(`textcnn.training.epoch`), early stopping and weight averaging (`textcnn.training.early_stopping`),
and the refit without validation (`textcnn.training.refit`).

Reports through a returned history and optional per-epoch callbacks, never through prints.
Runs on CPU, CUDA (autocast + pinned memory) and under torchrun with DistributedDataParallel.
Can be stopped between two steps (`should_stop`), hands out its complete state after every epoch
and on stopping (`on_checkpoint`), and continues exactly from such a state (`resume`); see
`textcnn.training.checkpoint`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch.nn import functional as F

from textcnn.config import TrainConfig
from textcnn.devices import ProcessGroup
from textcnn.inference import predict_logits
from textcnn.model import TextCNN
from textcnn.training.checkpoint import TrainingState
from textcnn.training.context import (
    CheckpointCallback,
    EpochCallback,
    RunContext,
    TrainingData,
    TrainingResult,
)
from textcnn.training.early_stopping import EarlyStopping, average_states
from textcnn.training.epoch import PartialEpoch, checkpoint_stop, run_epoch
from textcnn.training.refit import refit_model
from textcnn.training.step import build_optimizer, cpu_state, prepare_learner, seed_everything

__all__ = [
    "CheckpointCallback",
    "EpochCallback",
    "RunContext",
    "TrainingData",
    "TrainingResult",
    "average_states",
    "build_optimizer",
    "fit_validated",
    "refit_model",
    "seed_everything",
    "train_model",
]

logger = logging.getLogger(__name__)


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
    class_weights: np.ndarray | None = None,
) -> TrainingResult:
    """Fit `model` in place and leave it holding the weights of its best validation epoch.

    A flat front to `fit_validated` and, given `average_epochs`, to `refit_model` (which ignores
    the validation arguments, `config.epochs` and `config.patience`).

    `show_progress=None` shows a progress bar only when stderr is a terminal. `should_stop` is
    polled before every step: once it answers True, training ends there (`interrupted=True`).
    `class_weights` (one per class, `textcnn.training.class_weights`) weigh the training loss.
    `on_checkpoint` receives the loop's state after every epoch and on such a stop; passing one
    of those states back as `resume` continues the run exactly where it was.
    """
    context = RunContext(
        device=device,
        unk_id=unk_id,
        process_group=process_group or ProcessGroup(),
        callbacks=callbacks,
        show_progress=show_progress,
        should_stop=should_stop,
        on_checkpoint=on_checkpoint,
    )
    data = TrainingData.of(train_sequences, train_targets, class_weights)
    if average_epochs:
        return refit_model(model, data, config, context, epochs=average_epochs, resume=resume)
    valid = (valid_sequences, np.asarray(valid_targets, dtype=np.int64))
    return fit_validated(model, data, valid, config, context, resume=resume)


def fit_validated(
    model: TextCNN,
    data: TrainingData,
    valid: tuple[Sequence[Sequence[int]], np.ndarray],
    config: TrainConfig,
    context: RunContext,
    *,
    resume: TrainingState | None = None,
) -> TrainingResult:
    """Train until `config.epochs` or early stopping; end with the best or averaged epochs' weights."""
    learner = prepare_learner(model, config, context, resume)
    result = TrainingResult()
    first_epoch, partial = 1, PartialEpoch()
    if resume is None:
        stopping = EarlyStopping(
            patience=config.patience, average_best=config.average_best, initial_state=cpu_state(model)
        )
    else:
        stopping = EarlyStopping.resumed(resume, patience=config.patience, average_best=config.average_best)
        result.history = list(resume.history)
        first_epoch, partial = resume.epoch + 1, PartialEpoch.of(resume, context.process_group)
        if stopping.should_stop:  # it had stopped early already
            first_epoch = config.epochs + 1

    for epoch in range(first_epoch, config.epochs + 1):
        outcome = run_epoch(
            learner, data, config, context, epoch=epoch, desc=f"epoch {epoch}/{config.epochs}", partial=partial
        )
        partial = PartialEpoch()
        if outcome.stopped is not None:
            result.interrupted = True
            checkpoint_stop(learner, context, epoch, outcome, result.history, **stopping.checkpoint_fields())
            break
        scores = validation_scores(model, *valid, config, context.device)
        valid_accuracy, valid_loss = scores["valid_accuracy"], scores["valid_loss"]
        record = {
            "epoch": epoch,
            "train_loss": outcome.train_loss,
            "valid_loss": valid_loss,
            "valid_accuracy": valid_accuracy,
            "valid_macro_f1": scores["valid_macro_f1"],
            "seconds": outcome.seconds(),
        }
        result.history.append(record)
        logger.log(
            context.log_level,
            "epoch %d: train_loss %.4f valid_loss %.4f valid_accuracy %.4f (%.1fs)",
            epoch,
            record["train_loss"],
            valid_loss,
            valid_accuracy,
            record["seconds"],
        )
        context.report(record)
        stopping.update(epoch, valid_accuracy, valid_loss, model, score=scores[f"valid_{config.select_metric}"])
        if context.on_checkpoint is not None:
            context.on_checkpoint(
                learner.training_state(
                    epoch=epoch,
                    epoch_rng=learner.rng.bit_generator.state,
                    history=result.history,
                    **stopping.checkpoint_fields(),
                )
            )
        if stopping.should_stop:
            logger.log(context.log_level, "early stopping after epoch %d (best epoch %d)", epoch, stopping.best_epoch)
            break

    result.best_epoch, result.best_valid_accuracy = stopping.best_epoch, stopping.best_valid_accuracy
    averaged = stopping.averaged()
    if averaged is not None:
        model.load_state_dict(averaged[0])
        result.averaged_epochs = averaged[1]
        result.final_valid_accuracy, _ = validate(model, *valid, config, context.device)
    else:
        model.load_state_dict(stopping.best_state)
        result.final_valid_accuracy = result.best_valid_accuracy
    return result


def validate(
    model: TextCNN,
    sequences: Sequence[Sequence[int]],
    targets: np.ndarray,
    config: TrainConfig,
    device: torch.device,
) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `model` on the validation set."""
    scores = validation_scores(model, sequences, targets, config, device)
    return scores["valid_accuracy"], scores["valid_loss"]


def validation_scores(
    model: TextCNN,
    sequences: Sequence[Sequence[int]],
    targets: np.ndarray,
    config: TrainConfig,
    device: torch.device,
) -> dict[str, float]:
    """valid_accuracy, valid_macro_f1 and valid_loss (unweighted mean cross-entropy) of `model`.

    The macro-F1 averages over the classes present in `targets` or the predictions (scikit-learn's).
    """
    logits = predict_logits(model, sequences, batch_size=max(256, config.batch_size), device=device)
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets)))
    predicted = logits.argmax(axis=1)
    return {
        "valid_accuracy": float((predicted == targets).mean()),
        "valid_macro_f1": float(f1_score(targets, predicted, average="macro", zero_division=0)),
        "valid_loss": loss,
    }
