"""Training checkpoints: everything needed to continue an interrupted run exactly where it stopped.

The CLI keeps a run's checkpoint beside its model directory (`runs/x.checkpoint` for `runs/x`),
rewrites it atomically at the end of every epoch and when training is interrupted, and removes
it once the final model is saved. Layout::

    checkpoint.json    progress (epoch, step), early-stopping counters, best epoch, history,
                       numpy / python RNG states, and the run's settings (model and training
                       config, classes, a fingerprint of the data, the number of processes)
                       that a resume must match
    tokenizer.json     the run's tokenizer: a resumed run must map words to the same ids
    model.safetensors  current weights
    best.safetensors   weights of the best validation epoch so far
    rng.safetensors    torch RNG states (CPU, CUDA devices, the word-dropout generator)
    optimizer.pt       optimiser state, written by torch.save and read back only with
                       torch.load(weights_only=True): tensors and plain containers, never objects
    metrics.jsonl      one line of metrics per completed epoch

With the same data, settings and seed on CPU, an interrupted run resumed from its checkpoint ends
with bit-for-bit the weights of an uninterrupted run: the numpy generator is saved as it was when
the epoch in progress began, so that epoch's batch order is replayed and its finished steps skipped.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors
from safetensors.torch import save_file as save_safetensors
from tokenizers import Tokenizer

from textcnn.atomic import atomic_directory, check_folder_possible, check_replaceable, path_beside
from textcnn.errors import TextCNNError, first_line
from textcnn.persistence import CHECKPOINT_STATE_FILE, holds_only_a_model, is_model_dir, read_json
from textcnn.tokenization import load_tokenizer, prepare_tokenizer

CHECKPOINT_VERSION = 1
STATE_FILE = CHECKPOINT_STATE_FILE
TOKENIZER_FILE = "tokenizer.json"
MODEL_FILE = "model.safetensors"
BEST_FILE = "best.safetensors"
TOP_FILE = "top.safetensors"  # weights of the best epochs kept for averaging (absent in older checkpoints)
RNG_FILE = "rng.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
METRICS_FILE = "metrics.jsonl"
REQUIRED_FILES = (STATE_FILE, TOKENIZER_FILE, MODEL_FILE, BEST_FILE, RNG_FILE, OPTIMIZER_FILE)
FILES = (*REQUIRED_FILES, METRICS_FILE, TOP_FILE)

#: Training settings a resumed run may change: they do not alter what a step computes.
MAY_CHANGE_ON_RESUME = ("epochs", "patience", "device", "calibrate")
#: Settings added after checkpoints were first written: a checkpoint without one had this value.
ADDED_SETTINGS = {"class_weight": None, "select_metric": "accuracy", "temperature": 1.0}

Tensors = dict[str, torch.Tensor]


@dataclass
class RandomState:
    """Every random number generator the training loop draws from."""

    numpy: dict[str, Any]  # the loop's Generator, as it was when the epoch in progress began
    numpy_global: list[Any]
    python: list[Any]
    torch_cpu: torch.Tensor
    torch_cuda: list[torch.Tensor]
    word_dropout: torch.Tensor


def capture_random(numpy_state: Mapping[str, Any], word_dropout: torch.Generator) -> RandomState:
    """Snapshot the RNGs now, except the numpy Generator, given as of the epoch's start."""
    return RandomState(
        numpy=copy.deepcopy(dict(numpy_state)),
        numpy_global=_plain(np.random.get_state()),
        python=_plain(random.getstate()),
        torch_cpu=torch.get_rng_state(),
        torch_cuda=list(torch.cuda.get_rng_state_all()) if torch.cuda.is_initialized() else [],
        word_dropout=word_dropout.get_state(),
    )


def restore_random(state: RandomState, rng: np.random.Generator, word_dropout: torch.Generator) -> None:
    rng.bit_generator.state = copy.deepcopy(state.numpy)
    kind, keys, position, has_gauss, cached_gaussian = state.numpy_global
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached_gaussian))
    version, internal, gauss_next = state.python
    random.setstate((version, tuple(internal), gauss_next))
    torch.set_rng_state(state.torch_cpu)
    if state.torch_cuda and torch.cuda.is_available() and len(state.torch_cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state.torch_cuda)
    word_dropout.set_state(state.word_dropout)


#: (validation key, epoch, weights) of an epoch kept for checkpoint averaging.
KeptEpoch = tuple[tuple[float, float], int, Tensors]


@dataclass
class TrainingState:
    """The training loop's complete state between two steps (see `train_model(resume=...)`).

    Tensors may be the live ones of the running model: consume them before training goes on.
    """

    epoch: int  # epochs completed
    step: int  # batches already done in epoch `epoch + 1` (0 at an epoch boundary)
    model_state: Tensors
    optimizer_state: dict[str, Any]
    scaler_state: dict[str, Any]
    best_state: Tensors
    best_key: tuple[float, float] | None  # (valid_accuracy, -valid_loss) of the best epoch
    best_epoch: int
    best_valid_accuracy: float
    epochs_without_gain: int
    history: list[dict[str, Any]]
    random: RandomState
    epoch_loss: float = 0.0  # summed training loss of the `step` batches done in the epoch in progress
    epoch_seen: int = 0
    epoch_seconds: float = 0.0
    top_epochs: list[KeptEpoch] = field(default_factory=list)  # best epochs kept for averaging

    def restore(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        rng: np.random.Generator,
        word_dropout: torch.Generator,
    ) -> None:
        """Load weights, optimiser, scaler and RNG states into a freshly built training set-up."""
        try:
            model.load_state_dict(self.model_state)
            optimizer.load_state_dict(self.optimizer_state)
        except (RuntimeError, ValueError, KeyError) as error:
            raise TextCNNError(
                f"the checkpoint does not fit this model ({first_line(error)}); start over with `resume=False`"
            ) from None
        if self.scaler_state:
            scaler.load_state_dict(self.scaler_state)
        restore_random(self.random, rng, word_dropout)


@dataclass
class RunInfo:
    """What a resumed run must share with the checkpoint's run for the resume to be exact."""

    model_config: dict[str, Any]
    train_config: dict[str, Any]
    classes: list[Any]
    data_fingerprint: str
    #: Training processes (torchrun's WORLD_SIZE); None when unknown (checkpoints written before it was kept).
    world_size: int | None = 1

    def differences(self, other: RunInfo) -> list[str]:
        problems = []
        if self.classes != other.classes:
            problems.append(f"classes were {_some(self.classes)}, now {_some(other.classes)}")
        if self.data_fingerprint != other.data_fingerprint:
            problems.append("the training or validation data differ")
        for before, now in ((self.model_config, other.model_config), (self.train_config, other.train_config)):
            for key in sorted(set(before) | set(now)):
                was, new = before.get(key, ADDED_SETTINGS.get(key)), now.get(key, ADDED_SETTINGS.get(key))
                if key not in MAY_CHANGE_ON_RESUME and was != new:
                    problems.append(f"{key} was {was!r}, now {new!r}")
        return problems


@dataclass
class Checkpoint:
    path: Path
    state: TrainingState
    run: RunInfo
    tokenizer: Tokenizer = field(repr=False)

    def check_resumable(self, current: RunInfo) -> None:
        """Raise `TextCNNError` unless `current` continues the run that wrote this checkpoint."""
        self._check_world_size(current.world_size)
        problems = self.run.differences(current)
        if problems:
            raise TextCNNError(
                f"{self.path} belongs to a different run ({'; '.join(problems[:3])}); "
                "resume with the original data and options, or start over with `resume=False`"
            )

    def _check_world_size(self, now: int | None) -> None:
        """Each process runs its share of an epoch's steps, and the checkpoint counts the steps done:
        with another number of processes it would skip or repeat part of the interrupted epoch."""
        before = self.run.world_size
        if before is None or now is None or before == now:
            return
        raise TextCNNError(
            f"{self.path} was written by {_processes(before)}, now {now}; resume with the same number of "
            f"processes ({_launch(before)}), or start over with `resume=False`"
        )


def _processes(count: int) -> str:
    return "1 process" if count == 1 else f"{count} processes"


def _launch(world_size: int) -> str:
    return "without torchrun" if world_size == 1 else f"torchrun --nproc-per-node {world_size}"


def _some(values: list[Any], shown: int = 5) -> str:
    """A list as it prints, or its first few items and its length when it is long."""
    if len(values) <= shown:
        return repr(values)
    return f"[{', '.join(map(repr, values[:shown]))}, ... ({len(values)} in all)]"


def data_fingerprint(
    train_ids: Sequence[Sequence[int]],
    train_targets: np.ndarray,
    valid_ids: Sequence[Sequence[int]],
    valid_targets: np.ndarray,
) -> str:
    """A digest of the encoded data: every token id of every text, the lengths and the targets."""
    digest = hashlib.blake2b(digest_size=16)
    for ids, targets in ((train_ids, train_targets), (valid_ids, valid_targets)):
        lengths = np.fromiter((len(s) for s in ids), dtype=np.int64, count=len(ids))
        tokens = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        for part in (lengths, tokens, np.asarray(targets, dtype=np.int64)):
            digest.update(part.tobytes())
    return digest.hexdigest()


class CheckpointWriter:
    """`train_model(on_checkpoint=...)` callback that rewrites a checkpoint folder atomically."""

    def __init__(self, path: str | Path, *, run: RunInfo, tokenizer: Tokenizer) -> None:
        self.path = Path(path)
        self.run = run
        self.tokenizer = tokenizer

    def __call__(self, state: TrainingState) -> None:
        save_checkpoint(self.path, state, run=self.run, tokenizer=self.tokenizer)


def save_checkpoint(path: str | Path, state: TrainingState, *, run: RunInfo, tokenizer: Tokenizer) -> Path:
    path = Path(path)
    rng = {"torch_cpu": state.random.torch_cpu, "word_dropout": state.random.word_dropout}
    rng.update({f"torch_cuda.{i}": tensor for i, tensor in enumerate(state.random.torch_cuda)})
    record = {
        "format_version": CHECKPOINT_VERSION,
        "epoch": state.epoch,
        "step": state.step,
        "epoch_loss": state.epoch_loss,
        "epoch_seen": state.epoch_seen,
        "epoch_seconds": state.epoch_seconds,
        "best_key": list(state.best_key) if state.best_key is not None else None,
        "best_epoch": state.best_epoch,
        # NaN until an epoch is validated: written as null, since NaN is not JSON.
        "best_valid_accuracy": state.best_valid_accuracy if math.isfinite(state.best_valid_accuracy) else None,
        "epochs_without_gain": state.epochs_without_gain,
        "top_epochs": [[key[0], key[1], epoch] for key, epoch, _ in state.top_epochs],
        "history": state.history,
        "scaler": state.scaler_state,
        "random": {
            "numpy": state.random.numpy,
            "numpy_global": state.random.numpy_global,
            "python": state.random.python,
        },
        "run": {
            "model": run.model_config,
            "training": run.train_config,
            "classes": run.classes,
            "data_fingerprint": run.data_fingerprint,
            "world_size": run.world_size,
        },
    }
    with atomic_directory(path, may_replace=_holds_only_a_checkpoint) as tmp:
        save_safetensors(_cpu(state.model_state), str(tmp / MODEL_FILE))
        save_safetensors(_cpu(state.best_state), str(tmp / BEST_FILE))
        if state.top_epochs:
            top = {
                f"{epoch}/{name}": tensor for _, epoch, weights in state.top_epochs for name, tensor in weights.items()
            }
            save_safetensors(_cpu(top), str(tmp / TOP_FILE))
        save_safetensors(_cpu(rng), str(tmp / RNG_FILE))
        torch.save(state.optimizer_state, tmp / OPTIMIZER_FILE)
        tokenizer.save(str(tmp / TOKENIZER_FILE))
        (tmp / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in state.history), encoding="utf-8")
        (tmp / STATE_FILE).write_text(json.dumps(record), encoding="utf-8")
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint folder; every problem is a one-line `TextCNNError` naming the file."""
    path = Path(path)
    if not path.is_dir():
        raise TextCNNError(f"no checkpoint to resume at {path}")
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            raise TextCNNError(f"{path} is not a complete checkpoint: {name} is missing")
    raw = read_json(path / STATE_FILE)
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if not isinstance(version, int):
        raise TextCNNError(f"{path / STATE_FILE} is not a textcnn checkpoint (no 'format_version')")
    if version > CHECKPOINT_VERSION:
        raise TextCNNError(
            f"{path / STATE_FILE} has format version {version}, newer than this textcnn reads "
            f"({CHECKPOINT_VERSION}); upgrade textcnn"
        )
    rng = _read_tensors(path / RNG_FILE)
    try:
        run = RunInfo(
            model_config=dict(raw["run"]["model"]),
            train_config=dict(raw["run"]["training"]),
            classes=list(raw["run"]["classes"]),
            data_fingerprint=str(raw["run"]["data_fingerprint"]),
            world_size=_optional_int(raw["run"].get("world_size")),
        )
        random_state = RandomState(
            numpy=dict(raw["random"]["numpy"]),
            numpy_global=list(raw["random"]["numpy_global"]),
            python=list(raw["random"]["python"]),
            torch_cpu=rng["torch_cpu"],
            torch_cuda=[rng[f"torch_cuda.{i}"] for i in range(sum(k.startswith("torch_cuda.") for k in rng))],
            word_dropout=rng["word_dropout"],
        )
        best_key = raw["best_key"]
        state = TrainingState(
            epoch=int(raw["epoch"]),
            step=int(raw["step"]),
            model_state=_read_tensors(path / MODEL_FILE),
            optimizer_state=_read_optimizer(path / OPTIMIZER_FILE),
            scaler_state=dict(raw["scaler"]),
            best_state=_read_tensors(path / BEST_FILE),
            best_key=(float(best_key[0]), float(best_key[1])) if best_key is not None else None,
            best_epoch=int(raw["best_epoch"]),
            best_valid_accuracy=float("nan" if raw["best_valid_accuracy"] is None else raw["best_valid_accuracy"]),
            epochs_without_gain=int(raw["epochs_without_gain"]),
            history=list(raw["history"]),
            random=random_state,
            epoch_loss=float(raw["epoch_loss"]),
            epoch_seen=int(raw["epoch_seen"]),
            epoch_seconds=float(raw["epoch_seconds"]),
            top_epochs=_read_top_epochs(path, raw.get("top_epochs") or []),
        )
    except TextCNNError:
        raise  # a ValueError too, but one that already says what is wrong (a missing or corrupt file)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise TextCNNError(f"{path} is not a valid checkpoint ({type(error).__name__}: {error})") from None
    tokenizer = prepare_tokenizer(load_tokenizer(path / TOKENIZER_FILE))
    return Checkpoint(path=path, state=state, run=run, tokenizer=tokenizer)


# ------------------------------------------------------------ the CLI's run folders
def checkpoint_dir_for(out: str | Path) -> Path:
    """Where the checkpoint of a run writing model directory `out` lives: `OUT.checkpoint`."""
    return path_beside(out, ".checkpoint")


def check_output_dir(out: str | Path, *, overwrite: bool, resume: bool) -> Path:
    """Refuse to clobber a model or an unfinished run by accident; return the checkpoint folder.

    `resume` needs a checkpoint and may replace the model directory (the interrupted run's
    best-so-far model); otherwise an existing model or checkpoint needs `overwrite`.
    """
    out = Path(out)
    check_folder_possible(out)
    checkpoint = checkpoint_dir_for(out)
    if resume:
        if not checkpoint.is_dir():
            finished = " (the run there finished)" if is_model_dir(out) else ""
            raise TextCNNError(
                f"nothing to resume: no checkpoint at {checkpoint}{finished}; run without `resume=True` to start anew"
            )
    elif not overwrite:
        if checkpoint.is_dir():
            raise TextCNNError(
                f"{out} has an unfinished run (checkpoint {checkpoint}); pass `resume=True` to continue it "
                "or `overwrite=True` to start over"
            )
        if is_model_dir(out):
            raise TextCNNError(
                f"{out} already holds a model; pass `overwrite=True` to replace it or pick another `out`"
            )
    check_replaceable(out, holds_only_a_model)
    check_replaceable(checkpoint, _holds_only_a_checkpoint)
    return checkpoint


def remove_checkpoint(path: str | Path) -> None:
    path = Path(path)
    if path.is_dir() and _holds_only_a_checkpoint(path):
        shutil.rmtree(path)


# ------------------------------------------------------------------------ helpers
def _holds_only_a_checkpoint(path: Path) -> bool:
    return (path / STATE_FILE).is_file() or all(entry.name in FILES for entry in path.iterdir())


def _cpu(tensors: Tensors) -> Tensors:
    return {name: tensor.detach().to("cpu").contiguous() for name, tensor in tensors.items()}


def _read_top_epochs(path: Path, listed: list[list[float]]) -> list[KeptEpoch]:
    if not listed:
        return []
    if not (path / TOP_FILE).is_file():
        raise TextCNNError(f"{path} is not a complete checkpoint: {TOP_FILE} is missing")
    tensors = _read_tensors(path / TOP_FILE)
    kept = []
    for accuracy, neg_loss, epoch in listed:
        prefix = f"{int(epoch)}/"
        weights = {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}
        if not weights:
            raise KeyError(f"{TOP_FILE} has no weights for epoch {int(epoch)}")
        kept.append(((float(accuracy), float(neg_loss)), int(epoch), weights))
    return kept


def _read_tensors(path: Path) -> Tensors:
    try:
        return load_safetensors(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise TextCNNError(f"{path} is corrupt or unreadable: {error}") from None


def _read_optimizer(path: Path) -> dict[str, Any]:
    """Optimiser state through torch's restricted unpickler: tensors and plain containers only."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # the restricted unpickler raises several types; none may escape as a traceback
        raise TextCNNError(
            f"{path} is corrupt or holds more than tensors and plain values (it is never fully unpickled); "
            "start over with `resume=False`"
        ) from None
    if not isinstance(state, dict) or "state" not in state or "param_groups" not in state:
        raise TextCNNError(f"{path} is not an optimiser state; start over with `resume=False`")
    return state


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _plain(value: Any) -> Any:
    """Tuples and numpy arrays (as in RNG states) -> JSON-ready lists and scalars."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
