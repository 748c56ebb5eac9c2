"""Refit: train a fixed number of epochs without validation, ending with the mean of chosen epochs.

After a validated run picked its epochs (the best one, or the `average_best` best), the refit
trains a fresh model from the same seed on all rows, the validation rows included, for as long
as the last of those epochs, and ends with the mean of the weights after each of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from textcnn.config import TrainConfig
from textcnn.model import TextCNN
from textcnn.training.checkpoint import KeptEpoch, TrainingState
from textcnn.training.context import RunContext, TrainingData, TrainingResult
from textcnn.training.early_stopping import average_states, kept_epochs
from textcnn.training.epoch import PartialEpoch, checkpoint_stop, run_epoch
from textcnn.training.step import cpu_state, prepare_learner

logger = logging.getLogger(__name__)


def refit_model(
    model: TextCNN,
    data: TrainingData,
    config: TrainConfig,
    context: RunContext,
    *,
    epochs: Sequence[int],
    resume: TrainingState | None = None,
) -> TrainingResult:
    """Train `model` in place for `max(epochs)` epochs and leave it holding the mean of those epochs' weights.

    `config.epochs` and `config.patience` play no part. A run stopped by `context.should_stop`
    (`interrupted=True`) keeps whatever weights it reached: it is to be resumed, not used.
    """
    chosen = sorted(set(epochs))
    if not chosen:
        raise ValueError("refit_model needs at least one epoch to average")
    last_epoch = chosen[-1]
    learner = prepare_learner(model, config, context, resume)
    # A refit's checkpoint has no validated best epoch: its "best" weights are those it started from.
    initial_state = resume.best_state if resume is not None else cpu_state(model)
    result = TrainingResult()
    kept: list[KeptEpoch] = []
    first_epoch, partial = 1, PartialEpoch()
    if resume is not None:
        kept = list(resume.top_epochs)
        result.history = list(resume.history)
        first_epoch, partial = resume.epoch + 1, PartialEpoch.of(resume, context.process_group)

    for epoch in range(first_epoch, last_epoch + 1):
        outcome = run_epoch(
            learner, data, config, context, epoch=epoch, desc=f"refit epoch {epoch}/{last_epoch}", partial=partial
        )
        partial = PartialEpoch()
        if outcome.stopped is not None:
            result.interrupted = True
            checkpoint_stop(learner, context, epoch, outcome, result.history, best_state=initial_state, top_epochs=kept)
            break
        record = {"epoch": epoch, "refit": True, "train_loss": outcome.train_loss, "seconds": outcome.seconds()}
        result.history.append(record)
        logger.log(
            context.log_level, "refit epoch %d: train_loss %.4f (%.1fs)", epoch, record["train_loss"], record["seconds"]
        )
        context.report(record)
        if epoch in chosen:
            kept.append(((0.0, 0.0), epoch, cpu_state(model)))
        if context.on_checkpoint is not None:
            context.on_checkpoint(
                learner.training_state(
                    epoch=epoch,
                    epoch_rng=learner.rng.bit_generator.state,
                    history=result.history,
                    best_state=initial_state,
                    top_epochs=kept,
                )
            )
    if kept and not result.interrupted:  # an interrupted refit's weights are not kept
        model.load_state_dict(average_states([state for _, _, state in kept]))
        result.averaged_epochs = kept_epochs(kept)
    return result
