"""What each convolution filter of a model responds to, and which classes it votes for.

For every filter: the n-grams of a collection of texts that excite it most (its activation before
ReLU, over each distinct window the model would see, counted once with how often it occurs), its
average max-pooled value over those texts, and its output-layer weights: a positive weight for a
class means that the filter firing raises that class's logit. Weight times the average pooled
value is the filter's average contribution to each class's logit, which `summary` ranks by.

A window's activation depends on its tokens only, so the distinct n-grams are scored once each
from a per-token table (`TokenProjection`). Windows of a wide convolution that overlap a text's
edge contain padding; those positions are None in `FilterNGram.tokens`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.nn import functional as F

from textcnn.batching import inference_batches, pad_batch
from textcnn.errors import TextCNNError
from textcnn.inference import cpu_batch_tokens
from textcnn.model import TextCNN
from textcnn.persistence import to_json_value
from textcnn.projection import TokenProjection
from textcnn.tokenization import encode_batch

#: Shown for a padding position of an n-gram.
PAD_MARK = "∅"
#: Distinct n-grams scored at once.
SCORE_BLOCK = 65536


@dataclass(frozen=True)
class FilterNGram:
    tokens: tuple[str | None, ...]  # vocabulary tokens; None where the window overlaps padding
    activation: float  # the filter's output on this window, before ReLU
    count: int  # windows of the texts that hold this n-gram

    @property
    def text(self) -> str:
        return " ".join(PAD_MARK if token is None else token for token in self.tokens)


@dataclass(frozen=True)
class FilterReport:
    feature: int  # column of the output layer that holds this filter's max-pooled value
    kernel_size: int
    index: int  # the filter's number among those of its width
    weights: dict[Any, float]  # class -> output weight of the max-pooled feature
    mean_weights: dict[Any, float] | None  # class -> weight of the mean-pooled feature (pooling="max+mean")
    mean_pooled: float  # the max-pooled value averaged over the texts
    top_ngrams: list[FilterNGram]

    @property
    def pushes_toward(self) -> Any:
        """The class whose logit this filter raises most when it fires."""
        return max(self.weights, key=lambda label: self.weights[label])

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kernel_size": self.kernel_size,
            "index": self.index,
            "pushes_toward": to_json_value(self.pushes_toward),
            "weights": _labelled(self.weights),
            "mean_weights": None if self.mean_weights is None else _labelled(self.mean_weights),
            "mean_pooled": self.mean_pooled,
            "top_ngrams": [
                {"text": n.text, "tokens": list(n.tokens), "activation": n.activation, "count": n.count}
                for n in self.top_ngrams
            ],
        }


@dataclass(frozen=True)
class Inspection:
    classes: list[Any]
    texts: int
    filters: list[FilterReport]

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": [to_json_value(c) for c in self.classes],
            "texts": self.texts,
            "filters": [f.to_dict() for f in self.filters],
        }

    def strongest_for(self, label: Any, count: int = 3) -> list[FilterReport]:
        """The `count` filters with the largest average contribution to `label`'s logit."""
        return sorted(self.filters, key=lambda f: -f.weights[label] * f.mean_pooled)[:count]


def inspect_filters(
    model: TextCNN,
    tokenizer: Tokenizer,
    classes: Sequence[Any] | np.ndarray,
    chunks: Iterable[Sequence[str | None]],
    *,
    top: int = 5,
    batch_size: int = 256,
) -> Inspection:
    """Inspect every filter of `model` on the texts of `chunks` (lists of texts, read one at a time)."""
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise TextCNNError(f"top must be an integer >= 1, got {top!r}")
    config = model.config
    labels = [to_json_value(c) for c in classes]
    widths = len(config.kernel_sizes)
    ngrams: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(widths)]
    pooled_sum = torch.zeros(config.feature_dim, dtype=torch.float64)
    texts = 0
    device = next(model.parameters()).device
    max_tokens = cpu_batch_tokens(config) if device.type == "cpu" else None
    was_training = model.training
    model.eval()
    try:
        for chunk in chunks:
            ids = encode_batch(tokenizer, list(chunk), config.max_length, config.truncation)
            texts += len(ids)
            for batch in inference_batches([len(s) for s in ids], batch_size, max_tokens):
                padded = pad_batch([ids[i] for i in batch], config.pad_id, model.min_length)
                with torch.no_grad():
                    pooled_sum += model.features(padded.to(device)).double().sum(dim=0).cpu()
                lengths = np.array([len(ids[i]) for i in batch])
                for group in range(widths):
                    ngrams[group].append(_distinct(_windows(model, group, padded.numpy(), lengths)))
    finally:
        model.train(was_training)
    if texts == 0:
        raise TextCNNError("there are no texts to inspect the filters on")
    projection = TokenProjection(model)
    weight = model.classifier.weight.detach().cpu().double().numpy()
    mean_pooled = (pooled_sum / texts).numpy()
    per_group = config.num_filters * (2 if config.pooling == "max+mean" else 1)
    reports = []
    for group, width in enumerate(config.kernel_sizes):
        windows, counts = _merge(ngrams[group], width)
        values, rows = _top_activations(model, projection, group, windows, top)
        for index in range(config.num_filters):
            feature = group * per_group + index
            mean_feature = feature + config.num_filters if config.pooling == "max+mean" else None
            reports.append(
                FilterReport(
                    feature=feature,
                    kernel_size=width,
                    index=index,
                    weights=dict(zip(labels, weight[:, feature].tolist(), strict=True)),
                    mean_weights=None
                    if mean_feature is None
                    else dict(zip(labels, weight[:, mean_feature].tolist(), strict=True)),
                    mean_pooled=float(mean_pooled[feature]),
                    top_ngrams=[
                        FilterNGram(_tokens(tokenizer, windows[row], config.pad_id), float(value), int(counts[row]))
                        for value, row in zip(values[:, index].tolist(), rows[:, index].tolist(), strict=True)
                    ],
                )
            )
    return Inspection(classes=labels, texts=texts, filters=reports)


def summary(inspection: Inspection, *, filters_per_class: int = 3, ngrams_per_filter: int = 3) -> str:
    """A few lines per class: the filters that raise its logit most on average, and what excites them."""
    sizes = sorted({f.kernel_size for f in inspection.filters})
    lines = [f"{len(inspection.filters)} filters (widths {','.join(map(str, sizes))}) on {inspection.texts} texts"]
    for label in inspection.classes:
        lines.append(f"{label}: filters that raise its logit most (weight x mean activation):")
        for report in inspection.strongest_for(label, filters_per_class):
            shown = ", ".join(f'"{n.text}"' for n in report.top_ngrams[:ngrams_per_filter])
            contribution = report.weights[label] * report.mean_pooled
            lines.append(f"  k={report.kernel_size} #{report.index:<3} {contribution:+.3f}  {shown}")
    return "\n".join(lines)


def _windows(model: TextCNN, group: int, padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(windows, kernel_size) token ids of every window of kernel `group` that counts, as the model forms them."""
    width, edge = model.config.kernel_sizes[group], model.edge_padding(group)
    ids = np.pad(padded, ((0, 0), (edge, edge)), constant_values=model.config.pad_id) if edge else padded
    view = np.lib.stride_tricks.sliding_window_view(ids, width, axis=1)  # (batch, windows, width)
    last_start = np.maximum(lengths - width + 2 * edge, 0)
    valid = np.arange(view.shape[1])[None, :] <= last_start[:, None]
    return view[valid]


def _distinct(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.ascontiguousarray(windows, dtype=np.int64)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return rows[first], counts


def _merge(parts: list[tuple[np.ndarray, np.ndarray]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct n-grams of all batches, with their total counts."""
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, width), dtype=np.int64)
    counts = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * width))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], np.bincount(inverse.ravel(), weights=counts, minlength=len(first)).astype(np.int64)


def _top_activations(
    model: TextCNN, projection: TokenProjection, group: int, windows: np.ndarray, top: int
) -> tuple[np.ndarray, np.ndarray]:
    """(k, filters) activations and rows of `windows`: each filter's `top` strongest n-grams, best first."""
    conv, table = model.convs[group], projection.tables[group]
    width, vocab = windows.shape[1], model.config.vocab_size
    offsets = torch.arange(width) * vocab
    best_values = torch.empty(0, model.config.num_filters)
    best_rows = torch.empty(0, model.config.num_filters, dtype=torch.long)
    table = table.cpu()
    bias = torch.as_tensor(conv.bias).detach().float().cpu()
    for first in range(0, len(windows), SCORE_BLOCK):
        rows = torch.from_numpy(windows[first : first + SCORE_BLOCK]) + offsets
        with torch.no_grad():
            activations = F.embedding_bag(rows, table, mode="sum") + bias  # (block, filters)
        values = torch.cat([best_values, activations])
        indices = torch.cat([best_rows, torch.arange(first, first + len(rows)).unsqueeze(1).expand_as(activations)])
        keep = min(top, len(values))
        best_values, order = values.topk(keep, dim=0)
        best_rows = indices.gather(0, order)
    return best_values.numpy(), best_rows.numpy()


def _tokens(tokenizer: Tokenizer, ids: np.ndarray, pad_id: int) -> tuple[str | None, ...]:
    return tuple(None if i == pad_id else tokenizer.id_to_token(int(i)) for i in ids.tolist())


def _labelled(weights: dict[Any, float]) -> list[dict[str, Any]]:
    """Classes with their weights, the class pushed toward most first."""
    return [{"label": label, "weight": w} for label, w in sorted(weights.items(), key=lambda item: -item[1])]
