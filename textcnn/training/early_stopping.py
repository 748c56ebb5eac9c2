"""Early stopping on validation scores, and the averaged weights of the best epochs.

Epochs are ranked by (validation score, -validation loss): the score is the accuracy, or the
macro-F1 (`TrainConfig.select_metric`, which on imbalanced data does not reward ignoring a small
class), and the loss breaks ties between epochs of equal score. Training stops after `patience`
epochs without a better one; the model then ends with the best epoch's weights, or with the mean
of the `average_best` best epochs' weights (checkpoint averaging), which is smoother than any
single epoch's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from textcnn.training.checkpoint import KeptEpoch, TrainingState
from textcnn.training.step import Tensors, cpu_state

NO_SCORE = (-math.inf, -math.inf)


class EarlyStopping:
    """Tracks validation scores, the epochs without a gain, and the weights worth keeping."""

    def __init__(self, *, patience: int, average_best: int, initial_state: Tensors) -> None:
        self.patience = patience
        self.average_best = average_best
        self.best_state = initial_state  # the model's weights until an epoch is validated
        self.best_key: tuple[float, float] = NO_SCORE
        self.best_epoch = 0
        self.best_valid_accuracy = float("nan")
        self.epochs_without_gain = 0
        self.top_epochs: list[KeptEpoch] = []  # the `average_best` best epochs, when averaging

    @classmethod
    def resumed(cls, state: TrainingState, *, patience: int, average_best: int) -> EarlyStopping:
        """Continue the tracking a checkpoint holds (`patience` may differ from the first run's)."""
        stopping = cls(patience=patience, average_best=average_best, initial_state=state.best_state)
        stopping.best_key = state.best_key or NO_SCORE
        stopping.best_epoch = state.best_epoch
        stopping.best_valid_accuracy = state.best_valid_accuracy
        stopping.epochs_without_gain = state.epochs_without_gain
        stopping.top_epochs = list(state.top_epochs)
        return stopping

    def update(
        self,
        epoch: int,
        valid_accuracy: float,
        valid_loss: float,
        model: torch.nn.Module,
        *,
        score: float | None = None,
    ) -> None:
        """Score the weights `model` holds after `epoch`, keeping a copy if they rank high enough.

        `score` ranks the epochs (the selection metric); without it, `valid_accuracy` does.
        """
        key = (valid_accuracy if score is None else score, -valid_loss)
        improved = key > self.best_key
        if self.average_best > 1 or improved:
            # One CPU copy of this epoch's weights serves both the kept epochs and the best state.
            epoch_state = cpu_state(model)
            if self.average_best > 1:
                self.top_epochs = keep_best(self.top_epochs, (key, epoch, epoch_state), self.average_best)
            if improved:
                self.best_state = epoch_state
        if improved:
            self.best_key = key
            self.best_epoch = epoch
            self.best_valid_accuracy = valid_accuracy
            self.epochs_without_gain = 0
        else:
            self.epochs_without_gain += 1

    @property
    def should_stop(self) -> bool:
        return self.epochs_without_gain >= self.patience

    def averaged(self) -> tuple[Tensors, list[int]] | None:
        """The mean weights of the kept epochs and their numbers; None when there is nothing to average."""
        if self.average_best > 1 and len(self.top_epochs) > 1:
            return average_states([state for _, _, state in self.top_epochs]), kept_epochs(self.top_epochs)
        return None

    def checkpoint_fields(self) -> dict[str, Any]:
        """This tracker's part of a `TrainingState` (see `Learner.training_state`)."""
        return {
            "best_state": self.best_state,
            "best_key": self.best_key if self.best_epoch else None,
            "best_epoch": self.best_epoch,
            "best_valid_accuracy": self.best_valid_accuracy,
            "epochs_without_gain": self.epochs_without_gain,
            "top_epochs": self.top_epochs,
        }


def keep_best(kept: list[KeptEpoch], candidate: KeptEpoch, size: int) -> list[KeptEpoch]:
    """The `size` best (key, epoch, weights) by key; on equal keys the earlier epoch stays."""
    return sorted([*kept, candidate], key=lambda item: (item[0], -item[1]), reverse=True)[:size]


def kept_epochs(kept: Sequence[KeptEpoch]) -> list[int]:
    return sorted(epoch for _, epoch, _ in kept)


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
