"""Model directories: plain JSON, tokenizer JSON and safetensors. Nothing is ever unpickled.

Layout::

    config.json        {"format_version", "model": ModelConfig, "training": TrainConfig}
    labels.json        class names, in the order of the output layer
    tokenizer.json     Hugging Face tokenizers file
    model.safetensors  weights
    metrics.jsonl      one line of metrics per training epoch (then the refit's, marked "refit": true)

The directory is written as a whole into a hidden sibling and renamed into place (see
`textcnn.atomic`), so a model directory is either complete or absent, never half-written.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors
from safetensors.torch import save_file as save_safetensors
from tokenizers import Tokenizer

from textcnn.atomic import atomic_directory, new_file_mode
from textcnn.config import FORMAT_VERSION, ModelConfig, TrainConfig
from textcnn.errors import TextCNNError, first_line
from textcnn.model import TextCNN
from textcnn.tokenization import PAD_TOKEN, load_tokenizer, prepare_tokenizer

CONFIG_FILE = "config.json"
LABELS_FILE = "labels.json"
TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.jsonl"
REQUIRED_FILES = (CONFIG_FILE, LABELS_FILE, TOKENIZER_FILE, WEIGHTS_FILE)
MODEL_FILES = (*REQUIRED_FILES, METRICS_FILE)


@dataclass
class SavedModel:
    model: TextCNN
    tokenizer: Tokenizer
    classes: list[Any]
    train_config: TrainConfig | None
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl's records, refit's last


def is_model_dir(path: str | Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file()


def save_model_dir(
    path: str | Path,
    *,
    model: TextCNN,
    tokenizer: Tokenizer,
    classes: Iterable[Any],
    train_config: TrainConfig | None = None,
    history: Iterable[dict[str, Any]] = (),
) -> Path:
    """Write a complete, self-contained model directory at `path`, atomically.

    An existing model directory at `path` is replaced as a whole; a directory holding anything
    else is refused rather than overwritten.
    """
    path = Path(path)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    config = {
        "format_version": FORMAT_VERSION,
        "model": model.config.to_dict(),
        "training": train_config.to_dict() if train_config is not None else None,
    }
    labels = json.dumps([to_json_value(c) for c in classes], ensure_ascii=False, indent=2)
    metrics = "".join(json.dumps(r) + "\n" for r in history)
    with atomic_directory(path, may_replace=holds_only_a_model) as tmp:
        save_safetensors(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        os.chmod(tmp / WEIGHTS_FILE, new_file_mode())  # safetensors creates it private (0600)
        tokenizer.save(str(tmp / TOKENIZER_FILE))
        (tmp / LABELS_FILE).write_text(labels, encoding="utf-8")
        (tmp / METRICS_FILE).write_text(metrics, encoding="utf-8")
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def holds_only_a_model(path: Path) -> bool:
    """True for a textcnn model directory, or a directory holding nothing but model files."""
    if all(entry.name in MODEL_FILES for entry in path.iterdir()):
        return True
    return has_textcnn_config(path)


def has_textcnn_config(path: Path) -> bool:
    """True when `path/config.json` is a textcnn config (it names 'format_version' and 'model')."""
    try:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "format_version" in config and "model" in config


#: The state file of a training checkpoint (`textcnn.training.checkpoint.STATE_FILE`), named here so that a
#: checkpoint is recognised without importing that module, which imports this one.
CHECKPOINT_STATE_FILE = "checkpoint.json"


def looks_like_model_dir(path: str | Path) -> bool:
    """A textcnn model or training checkpoint directory, even a damaged one: a textcnn config.json,
    or a config.json or checkpoint.json beside model.safetensors. A data folder holding a
    config.json of its own is not."""
    path = Path(path)
    weights = (path / WEIGHTS_FILE).is_file()
    if (path / CHECKPOINT_STATE_FILE).is_file() and weights:
        return True
    return is_model_dir(path) and (has_textcnn_config(path) or weights)


def load_model_dir(path: str | Path, *, device: str = "cpu") -> SavedModel:
    """Read config -> build the network -> load weights. Every problem names the file at fault."""
    path = Path(path)
    if path.is_file():
        raise TextCNNError(f"{path} is a file, not a model directory")
    if not path.is_dir():
        raise TextCNNError(f"model directory not found: {path}")
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            raise TextCNNError(f"{path} is not a complete textcnn model directory: {name} is missing")
    raw = read_json(path / CONFIG_FILE)
    if not isinstance(raw, dict) or "model" not in raw or "format_version" not in raw:
        raise TextCNNError(f"{path / CONFIG_FILE} is not a textcnn config (no 'format_version'/'model')")
    version = raw["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TextCNNError(
            f"{path / CONFIG_FILE} has format_version {json.dumps(version)}, which is not a valid version "
            f"(a whole number such as {FORMAT_VERSION}); put back the config.json saved with the model"
        )
    if version > FORMAT_VERSION:
        raise TextCNNError(
            f"{path / CONFIG_FILE} has format version {version}, newer than this textcnn reads "
            f"({FORMAT_VERSION}); upgrade textcnn"
        )
    try:
        model_config = ModelConfig.from_dict(raw["model"])
        train_config = TrainConfig(**raw["training"]) if raw.get("training") else None
    except (TypeError, ValueError) as error:
        raise TextCNNError(f"{path / CONFIG_FILE} is invalid: {error}") from None
    classes = read_json(path / LABELS_FILE)
    if not isinstance(classes, list) or len(classes) != model_config.num_classes:
        raise TextCNNError(f"{path / LABELS_FILE} must list {model_config.num_classes} class names")
    check_class_names(classes, path / LABELS_FILE)
    try:
        state = load_safetensors(str(path / WEIGHTS_FILE), device=device)
    except (SafetensorError, OSError, ValueError) as error:
        raise TextCNNError(f"{path / WEIGHTS_FILE} is corrupt or unreadable: {error}") from None
    model = TextCNN(model_config)
    problems = state_mismatches(state, model.state_dict())
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise TextCNNError(f"{path / WEIGHTS_FILE} does not match {CONFIG_FILE}: {problems[0]}{more}")
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise TextCNNError(
                f"{path / WEIGHTS_FILE} holds NaN or infinite values in {name}: the model cannot give valid scores; "
                "retrain it, or put back an intact copy of the file"
            )
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise TextCNNError(f"{path / WEIGHTS_FILE} does not match {CONFIG_FILE}: {first_line(error)}") from None
    model.to(device).eval()
    # Read after the weights, which confirm config.json's vocab_size, so a mismatch blames the tokenizer.
    tokenizer = prepare_tokenizer(load_tokenizer(path / TOKENIZER_FILE))
    check_tokenizer_fits(tokenizer, model_config, path / TOKENIZER_FILE)
    return SavedModel(
        model=model,
        tokenizer=tokenizer,
        classes=classes,
        train_config=train_config,
        history=read_history(path / METRICS_FILE),
    )


def read_history(path: Path) -> list[dict[str, Any]]:
    """The per-epoch records of metrics.jsonl, so that loading and saving a model keeps them.

    They are a record, never needed to predict: a missing or damaged file gives no history rather
    than refusing the model.
    """
    try:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError):
        return []
    return records if all(isinstance(record, dict) for record in records) else []


def state_mismatches(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> list[str]:
    """Each tensor missing, of another shape than config.json implies, or unexpected, in that order.

    torch's own error puts these on lines after a header, which a one-line error would cut off.
    """
    problems = []
    for name, tensor in expected.items():
        if name not in state:
            problems.append(f"missing tensor {name}")
        elif state[name].shape != tensor.shape:
            problems.append(f"{name} has shape {list(state[name].shape)}, {CONFIG_FILE} implies {list(tensor.shape)}")
    problems += [f"unexpected tensor {name}" for name in state if name not in expected]
    return problems


def check_tokenizer_fits(tokenizer: Tokenizer, config: ModelConfig, path: Path) -> None:
    """Refuse a tokenizer whose ids are not the rows of the model's embedding.

    A tokenizer.json copied from another model loads, but then gives ids past the embedding (an
    IndexError at predict time) or, with as many words, silently the ids of other words.
    """
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if size != config.vocab_size or max(vocab.values(), default=-1) >= config.vocab_size:
        raise TextCNNError(
            f"{path} has {size} tokens (ids up to {max(vocab.values(), default=-1)}) but the model's embedding has "
            f"{config.vocab_size} rows ({CONFIG_FILE}'s vocab_size): it is not the tokenizer these weights were "
            "trained with; put back the tokenizer.json saved with the model"
        )
    pad_id = tokenizer.token_to_id(PAD_TOKEN)
    if pad_id != config.pad_id:
        raise TextCNNError(
            f"{path} has {PAD_TOKEN} at id {pad_id} but {CONFIG_FILE}'s pad_id is {config.pad_id}: it is not the "
            "tokenizer these weights were trained with; put back the tokenizer.json saved with the model"
        )


def check_class_names(classes: list[Any], path: Path) -> None:
    """Class names are what `save_model_dir` writes: distinct strings, numbers or booleans.

    A nested name breaks `eval`'s lookups, and a repeated one makes a class unreachable.
    """
    for name in classes:
        if not isinstance(name, str | int | float | bool):
            raise TextCNNError(
                f"{path} must list class names as strings, numbers or booleans, not {json.dumps(name)}; "
                "put back the labels.json saved with the model"
            )
    seen: set[Any] = set()
    for name in classes:
        if name in seen:
            raise TextCNNError(
                f"{path} lists the class {json.dumps(name)} twice; each output of the model needs its own name: "
                "put back the labels.json saved with the model"
            )
        seen.add(name)


def read_json(path: Path) -> Any:
    """Parse a JSON file; a corrupt one is a `TextCNNError` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TextCNNError(f"{path} is corrupt (not valid JSON: {error})") from None


def to_json_value(value: Any) -> Any:
    """numpy scalars -> Python scalars so labels survive JSON with their type."""
    return value.item() if hasattr(value, "item") else value


def _atomic_write(target: Path, write: Any) -> None:
    if not target.parent.is_dir():
        raise TextCNNError(f"output folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, new_file_mode())  # mkstemp makes it private; a saved model should not be
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(target: Path, text: str) -> None:
    _atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
