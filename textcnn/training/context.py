"""What a training run is given besides its data and `TrainConfig`, and what it hands back.

`RunContext` groups the caller's side of a run: where it runs, how it reports (progress bar,
per-epoch callbacks), how it is stopped (`should_stop`) and where its checkpoints go
(`on_checkpoint`). `TrainingData` is the encoded training split; `TrainingResult` the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from textcnn.devices import ProcessGroup
from textcnn.training.checkpoint import TrainingState

EpochCallback = Callable[[dict[str, Any]], None]
CheckpointCallback = Callable[[TrainingState], None]


@dataclass(frozen=True)
class RunContext:
    """The caller's side of a training run (see `train_model` for each setting's meaning)."""

    device: torch.device
    unk_id: int  # the id word dropout replaces tokens with
    process_group: ProcessGroup = field(default_factory=ProcessGroup)
    callbacks: Sequence[EpochCallback] = ()
    show_progress: bool | None = None  # None: a progress bar only when stderr is a terminal
    should_stop: Callable[[], bool] | None = None
    on_checkpoint: CheckpointCallback | None = None

    @property
    def log_level(self) -> int:
        """Under torchrun every rank runs the loop; the main one reports."""
        return self.process_group.log_level

    @property
    def progress_disabled(self) -> bool | None:
        """tqdm's `disable`: True on other ranks and when asked, None to let tqdm look for a terminal."""
        if not self.process_group.is_main:
            return True
        return None if self.show_progress is None else not self.show_progress

    def report(self, record: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback(record)


@dataclass(frozen=True)
class TrainingData:
    """An encoded training split: token ids per text, integer targets, the texts' lengths, and
    the per-class loss weights (`textcnn.training.class_weights`; None weighs every class 1)."""

    sequences: Sequence[Sequence[int]]
    targets: np.ndarray
    lengths: np.ndarray
    class_weights: np.ndarray | None = None

    @classmethod
    def of(
        cls, sequences: Sequence[Sequence[int]], targets: np.ndarray, class_weights: np.ndarray | None = None
    ) -> TrainingData:
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        return cls(
            sequences=sequences,
            targets=np.asarray(targets, dtype=np.int64),
            lengths=lengths,
            class_weights=class_weights,
        )


@dataclass
class TrainingResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_accuracy: float = float("nan")
    interrupted: bool = False  # `should_stop` ended training early; the model holds the best epoch so far
    averaged_epochs: list[int] = field(default_factory=list)  # epochs whose weights were averaged, if any
    # Validation accuracy of the weights the model ends with: the best epoch's, or their average's.
    final_valid_accuracy: float = float("nan")
