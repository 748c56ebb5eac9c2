"""Batched, length-sorted forward passes that return probabilities in input order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from textcnn.batching import inference_batches, pad_batch
from textcnn.config import ModelConfig
from textcnn.devices import autocast
from textcnn.errors import TextCNNError
from textcnn.model import TextCNN
from textcnn.projection import TokenProjection
from textcnn.sizing import AUTO, is_auto

#: On a CPU a batch's convolution outputs (texts x tokens x filters) stay under this many values.
#: Larger batches of long texts are slower there, not faster (fresh buffers of hundreds of MB cost
#: page faults instead of being reused) and raise peak memory: `scripts/bench_predict_batches.py`.
#: Sentence batches (256 texts of tens of tokens) stay far below it; a GPU takes whole batches.
CPU_BATCH_ACTIVATIONS = 2**24


def cpu_batch_tokens(config: ModelConfig) -> int:
    """Most padded tokens in one CPU inference batch of a model with this `config`."""
    return max(1, CPU_BATCH_ACTIVATIONS // (config.num_filters * len(config.kernel_sizes)))


@torch.inference_mode()
def predict_logits(
    model: TextCNN,
    sequences: Sequence[Sequence[int]],
    *,
    batch_size: int = 256,
    device: torch.device | None = None,
    projection: TokenProjection | None = None,
    max_batch_tokens: int | str | None = AUTO,
) -> np.ndarray:
    """Logits (n, num_classes) as float32, rows in the order of `sequences`.

    With a `projection` (built from `model`'s current weights) the convolutions are replaced by
    its table lookups: same logits up to float rounding, for a fraction of the work.

    A batch holds at most `batch_size` texts and, with `max_batch_tokens`, at most that many padded
    tokens; "auto" is `cpu_batch_tokens` on a CPU and no token limit elsewhere.
    """
    device = device or next(model.parameters()).device
    if is_auto(max_batch_tokens):
        max_batch_tokens = cpu_batch_tokens(model.config) if device.type == "cpu" else None
    elif isinstance(max_batch_tokens, str):
        raise TextCNNError(f"max_batch_tokens must be a whole number, None or {AUTO!r}, not {max_batch_tokens!r}")
    was_training = model.training
    model.eval()
    out = np.empty((len(sequences), model.config.num_classes), dtype=np.float32)
    lengths = [len(s) for s in sequences]
    try:
        for batch_indices in inference_batches(lengths, batch_size, max_batch_tokens):
            batch = pad_batch([sequences[i] for i in batch_indices], model.config.pad_id, model.min_length)
            batch = batch.to(device, non_blocking=device.type == "cuda")
            if projection is not None:
                logits = projection.logits(batch)
            else:
                with autocast(device):
                    logits = model(batch)
            out[batch_indices] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`, in the logits' dtype."""
    if temperature != 1.0:
        logits = logits / np.asarray(temperature, dtype=logits.dtype)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def predict_probabilities(
    model: TextCNN,
    sequences: Sequence[Sequence[int]],
    *,
    batch_size: int = 256,
    device: torch.device | None = None,
    projection: TokenProjection | None = None,
    temperature: float | None = None,
) -> np.ndarray:
    """Class probabilities (n, num_classes), rows in the order of `sequences`.

    They are softmax(logits / T), with T the model's calibrated `config.temperature` unless
    `temperature` is given (1 gives the network's own probabilities).
    """
    logits = predict_logits(model, sequences, batch_size=batch_size, device=device, projection=projection)
    return softmax(logits, model.config.temperature if temperature is None else temperature)
