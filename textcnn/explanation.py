"""Exact explanations of TextCNN predictions: which n-grams of a text moved a class's logit, by how much.

A TextCNN's logits are a linear function of its pooled features. In evaluation mode (dropout off)

    logit_c = b_c + sum_f W[c, f] * pooled_f

and every pooled feature comes from the text's convolution windows (its n-grams):

- max pooling: pooled_f = ReLU(max_t a_f(t)) is the activation of one window, the argmax t*, so the
  term W[c, f] * pooled_f is credited to that window alone. Windows tied for the maximum have the
  same activation, so any of them gives the same sum; the first (leftmost) is credited, as
  `torch.argmax` picks it.
- the mean half of `pooling="max+mean"`: pooled_f = sum_t ReLU(a_f(t)) / n, over the n windows
  that count, so window t is credited W[c, f] * ReLU(a_f(t)) / n.

The convolution's own bias is part of each activation and so of the windows' credits. Summing the
credits of the windows that cover the same tokens gives each n-gram's contribution; the
contributions of all n-grams plus the output bias b_c equal the model's logit up to float rounding
(about 1e-6 in float32). Nothing is approximated or sampled.

The activations come from `TextCNN.window_activations`, the very tensors the model pools, for
every embedding mode (the multichannel sum of both embedding channels included). A window of a wide
convolution overlaps the zero padding at a text's edges: it is credited to the real tokens it
covers (the first window of width 3 covers only the first token). A text longer than `max_length`
is explained as the model saw it, by its kept tokens (`ModelConfig.truncation`); spans index those
tokens and are mapped back to character offsets in the input. The runner-up comparison decomposes
logit_c - logit_c2 (c2: the best other class) the same way, with W[c] - W[c2] and b_c - b_c2: the
quantity that decides the label.

Per-token scores (`Token.score`) are for display: each n-gram's contribution shared evenly among
its tokens. They sum to the same total, but only the n-gram attribution is exact in the sense above.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.nn import functional as F

from textcnn.batching import inference_batches, pad_batch
from textcnn.errors import TextCNNError
from textcnn.evaluation import class_indices
from textcnn.inference import cpu_batch_tokens, softmax
from textcnn.model import TextCNN
from textcnn.persistence import to_json_value
from textcnn.tokenization import CHARS_PER_TOKEN_BUDGET, ENCODE_CHUNK, clip_text, keep_tokens

#: Class labels in the order of the output layer: a list, or a fitted estimator's `classes_` array.
Classes = Sequence[Any] | np.ndarray

#: Joins the two parts of an n-gram that straddles the gap a head+tail truncation cut out of a text.
GAP = " … "


@dataclass(slots=True)  # not frozen: one is built per listed n-gram, and frozen __init__ costs about twice as much
class NGram:
    """A span of kept tokens and its signed contribution to the explained quantity."""

    start: int  # first token of the span, an index into `Explanation.tokens`
    end: int  # one past its last token (start == end only for an empty text)
    text: str  # input[char_start:char_end], or its two parts joined by GAP across a truncation gap
    char_start: int  # character offsets in the input text
    char_end: int
    kernel_sizes: tuple[int, ...]  # widths of the windows that cover exactly this span
    score: float


@dataclass(frozen=True)
class Attribution:
    """`value` = `bias` + sum of `ngrams`' scores + `rest` (the n-grams not listed), exactly up to rounding."""

    value: float
    bias: float
    ngrams: list[NGram]  # the `top` largest by absolute score, largest first
    rest: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "bias": self.bias,
            "rest": self.rest,
            "ngrams": [{**asdict(n), "kernel_sizes": list(n.kernel_sizes)} for n in self.ngrams],
        }


@dataclass(slots=True)  # not frozen, like NGram: one is built per token of every explained text
class Token:
    """A kept token as it appears in the input, with its display share of the n-gram scores."""

    text: str
    char_start: int
    char_end: int
    score: float  # share of the logit's n-gram contributions
    margin: float  # share of the runner-up comparison's


@dataclass(frozen=True)
class Segment:
    """A piece of an explained text: a kept `token`, the text `between` tokens, or text truncation `dropped`."""

    kind: str
    text: str
    token: int | None  # index into `Explanation.tokens` for a token


@dataclass(frozen=True)
class Explanation:
    """Why the model gives `label` the logit it does for `text`, and why it beats `runner_up`."""

    text: str
    label: Any  # the explained class (the predicted one unless asked otherwise)
    predicted: Any  # the model's prediction
    probability: float  # of `label`
    logit: Attribution  # of `label`
    runner_up: Any  # the best class other than `label`
    margin: Attribution  # of logit[label] - logit[runner_up]
    tokens: list[Token]  # the kept tokens, in order
    dropped: list[tuple[int, int]]  # character ranges of `text` the model never saw (truncation)

    @property
    def truncated(self) -> bool:
        return bool(self.dropped)

    def segments(self) -> list[Segment]:
        """The input text cut into kept tokens, the text between them, and what truncation dropped.

        Joined, the segments' texts give the input back, except that each stretch the model never
        saw is one `dropped` segment (its text kept too, for renderers that want to show it).
        """
        out: list[Segment] = []
        dropped = set(self.dropped)
        cursor = 0
        for index, token in enumerate([*self.tokens, None]):
            start = len(self.text) if token is None else token.char_start
            if start > cursor or (cursor, start) in dropped:
                kind = "dropped" if (cursor, start) in dropped else "between"
                out.append(Segment(kind, self.text[cursor:start], None))
            if token is not None:
                out.append(Segment("token", self.text[token.char_start : token.char_end], index))
                cursor = token.char_end
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: one JSON-lines record of `textcnn explain --format json`."""
        return {
            "text": self.text,
            "label": to_json_value(self.label),
            "predicted": to_json_value(self.predicted),
            "probability": self.probability,
            "logit": self.logit.to_dict(),
            "runner_up": to_json_value(self.runner_up),
            "margin": self.margin.to_dict(),
            "tokens": [asdict(token) for token in self.tokens],
            "truncated": self.truncated,
            "dropped": [list(span) for span in self.dropped],
        }


@dataclass
class _Encoded:
    """One text's kept token ids, each token's character offsets, and what truncation left out."""

    ids: list[int]
    offsets: list[tuple[int, int]]  # in the input text, per kept token
    dropped: list[tuple[int, int]]  # character ranges the model never sees
    gaps: set[int]  # kept tokens i with a dropped range between tokens i - 1 and i


def explain_texts(
    model: TextCNN,
    tokenizer: Tokenizer,
    classes: Classes,
    texts: Sequence[str | None],
    *,
    top: int | None = 10,
    label: Any = None,
    batch_size: int = 256,
) -> list[Explanation]:
    """Explain the model's logit for `label` (default: the predicted class) on each of `texts`.

    `top` n-grams (largest absolute contribution first; None lists all) are kept per attribution;
    the others are summed in `rest`. See the module docstring for what is exact.
    """
    label_index = check_request(classes, top=top, label=label, batch_size=batch_size)
    shown: list[str] = [text or "" for text in texts]
    config = model.config
    encoded = encode_with_offsets(tokenizer, shown, config.max_length, config.truncation)
    device = next(model.parameters()).device
    max_tokens = cpu_batch_tokens(config) if device.type == "cpu" else None
    explanations: list[Explanation | None] = [None] * len(shown)
    was_training = model.training
    model.eval()
    try:
        for batch_indices in inference_batches([len(e.ids) for e in encoded], batch_size, max_tokens):
            batch = [encoded[i] for i in batch_indices]
            results = _explain_batch(model, classes, [shown[i] for i in batch_indices], batch, top, label_index)
            for i, explanation in zip(batch_indices, results, strict=True):
                explanations[i] = explanation
    finally:
        model.train(was_training)
    return explanations  # type: ignore[return-value]


def check_request(classes: Classes, *, top: int | None, label: Any, batch_size: int) -> int | None:
    """Refuse bad arguments before any work; the position of `label` in `classes` (None: the predicted class)."""
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top < 1):
        raise TextCNNError(f"top must be an integer >= 1 or None, got {top!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise TextCNNError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if label is None:
        return None
    index = int(class_indices([label], list(classes))[0])
    if index < 0:  # a label typed as text ("1") names the class 1 too, as `textcnn eval` reads labels
        by_text = {str(to_json_value(c)): i for i, c in enumerate(classes)}
        index = by_text.get(str(label), -1)
    if index < 0:
        known = ", ".join(str(to_json_value(c)) for c in classes)
        raise TextCNNError(f"label={label!r} is not a class of this model; its classes are: {known}")
    return index


def encode_with_offsets(tokenizer: Tokenizer, texts: Sequence[str], max_length: int, truncation: str) -> list[_Encoded]:
    """The ids `textcnn.tokenization.encode_batch` gives, with each kept token's character offsets."""
    max_chars = max_length * CHARS_PER_TOKEN_BUDGET
    out: list[_Encoded] = []
    for first in range(0, len(texts), ENCODE_CHUNK):
        chunk = texts[first : first + ENCODE_CHUNK]
        clipped = [clip_text(text, max_chars, truncation) for text in chunk]
        for text, cut, encoding in zip(
            chunk, clipped, tokenizer.encode_batch(clipped, add_special_tokens=False), strict=True
        ):
            ids, offsets = encoding.ids, encoding.offsets
            if len(ids) <= max_length and len(cut) == len(text):  # the whole text is seen: nothing to map
                out.append(_Encoded(ids, offsets, [], set()))
                continue
            positions = keep_tokens(list(range(len(ids))), max_length, truncation)
            kept = [_original_offsets(offsets[p], text, cut, max_chars, truncation) for p in positions]
            dropped, gaps = _dropped_ranges(
                text, kept, positions, len(ids), len(cut) != len(text), max_chars, truncation
            )
            out.append(_Encoded([ids[p] for p in positions], kept, dropped, gaps))
    return out


def _dropped_ranges(
    text: str,
    offsets: list[tuple[int, int]],
    positions: list[int],
    total: int,
    clipped: bool,
    max_chars: int,
    truncation: str,
) -> tuple[list[tuple[int, int]], set[int]]:
    """The stretches of `text` the model does not see: tokens `keep_tokens` left out, and text
    `clip_text` cut before tokenising (its tokens were never counted), as character ranges."""
    if not offsets:
        return ([(0, len(text))] if clipped else []), set()
    dropped, gaps = [], set()
    if positions[0] > 0 or (clipped and truncation == "tail"):
        dropped.append((0, offsets[0][0]))
    cut = (max_chars, len(text) - max_chars) if clipped and truncation == "head+tail" else None
    for i in range(1, len(offsets)):
        skipped = positions[i] != positions[i - 1] + 1
        across_cut = cut is not None and offsets[i - 1][1] <= cut[0] and offsets[i][0] >= cut[1]
        if skipped or across_cut:
            dropped.append((offsets[i - 1][1], offsets[i][0]))
            gaps.add(i)
    if positions[-1] + 1 < total or (clipped and truncation == "head"):
        dropped.append((offsets[-1][1], len(text)))
    return dropped, gaps


def _original_offsets(
    offsets: tuple[int, int], text: str, cut: str, max_chars: int, truncation: str
) -> tuple[int, int]:
    """Offsets in `cut` (what `clip_text` made of `text`) as offsets in `text`."""
    if cut is text or len(cut) == len(text):
        return offsets
    if truncation == "tail":
        shift = len(text) - max_chars
        return offsets[0] + shift, offsets[1] + shift
    # head+tail: text[:max_chars] + " " + text[-max_chars:]; head: a prefix, nothing to shift
    if truncation == "head+tail" and offsets[0] > max_chars:
        shift = len(text) - max_chars - (max_chars + 1)
        return offsets[0] + shift, offsets[1] + shift
    return offsets


@torch.no_grad()
def _explain_batch(
    model: TextCNN,
    classes: Classes,
    texts: list[str],
    encoded: list[_Encoded],
    top: int | None,
    label_index: int | None,
) -> list[Explanation]:
    config = model.config
    device = next(model.parameters()).device
    lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
    input_ids = pad_batch([e.ids for e in encoded], config.pad_id, model.min_length).to(device)
    # Pooled as `pool_windows` pools them: max (values and, in one pass, the first window holding
    # each, as torch.argmax would pick it), then ReLU; and for max+mean, the ReLU'd mean.
    pooled, winners, window_masks, rectified = [], [], [], []
    for activations, mask in model.window_activations(input_ids):
        peak, best = activations.max(dim=2)  # (batch, filters)
        pooled.append(F.relu(peak))
        winners.append(best)
        window_masks.append(mask)
        if config.pooling == "max+mean":
            counts = (mask == 0).sum(dim=1, keepdim=True).to(activations.dtype)  # (batch, 1)
            positive = activations.relu_()  # padding's -inf becomes 0
            rectified.append(positive / counts.unsqueeze(2))  # each window's share of the mean
            pooled.append(positive.sum(dim=2) / counts)
    weight, bias = model.classifier.weight, model.classifier.bias
    logits = F.linear(torch.cat(pooled, dim=1), weight, bias)  # (batch, classes): the model's logits
    rows = torch.arange(len(encoded), device=device)
    if label_index is None:
        chosen = logits.argmax(dim=1)
    else:
        chosen = torch.full((len(encoded),), label_index, device=device, dtype=torch.long)
    others = logits.clone()
    others[rows, chosen] = float("-inf")
    runner_up = others.argmax(dim=1)
    # Two linear read-outs of the pooled features: the logit, and the margin over the runner-up.
    readout = torch.stack([weight[chosen], weight[chosen] - weight[runner_up]], dim=1)  # (batch, 2, features)
    biases = torch.stack([bias[chosen], bias[chosen] - bias[runner_up]], dim=1)  # (batch, 2)
    values = torch.stack([logits[rows, chosen], logits[rows, chosen] - logits[rows, runner_up]], dim=1)

    filters = config.num_filters
    per_group = filters * (2 if config.pooling == "max+mean" else 1)
    window_scores, spans_start, spans_end, span_rows, group_of = [], [], [], [], []
    for group, (best, mask) in enumerate(zip(winners, window_masks, strict=True)):
        first = group * per_group
        peak = pooled[group * (per_group // filters)]
        credit = readout[:, :, first : first + filters] * peak.unsqueeze(1)  # (batch, 2, filters)
        scores = torch.zeros(best.size(0), 2, mask.size(1), device=device, dtype=credit.dtype)
        scores.scatter_add_(2, best.unsqueeze(1).expand(-1, 2, -1), credit)
        if config.pooling == "max+mean":
            mean_weights = readout[:, :, first + filters : first + 2 * filters]
            scores.baddbmm_(mean_weights, rectified[group])  # (batch, 2, filters) @ (batch, filters, windows)
        width, edge = config.kernel_sizes[group], model.edge_padding(group)
        starts = np.arange(mask.size(1)) - edge  # first text position each window covers
        batch_rows, windows = np.nonzero((mask == 0).cpu().numpy())
        window_scores.append(scores.permute(0, 2, 1).cpu().numpy()[batch_rows, windows])  # (n, 2)
        spans_start.append(np.clip(starts[windows], 0, lengths[batch_rows]))
        spans_end.append(np.clip(starts[windows] + width, 0, lengths[batch_rows]))
        span_rows.append(batch_rows)
        group_of.append(np.full(len(windows), group))
    span = _merge_spans(
        np.concatenate(span_rows),
        np.concatenate(spans_start),
        np.concatenate(spans_end),
        np.concatenate(group_of),
        np.concatenate(window_scores).astype(np.float64),
        int(lengths.max(initial=0)),
        len(encoded),
    )
    values_np = values.double().cpu().numpy()
    biases_np = biases.double().cpu().numpy()
    probabilities = softmax(logits.float().cpu().numpy(), model.config.temperature)  # calibrated, as predict_proba
    chosen_np, runner_np = chosen.cpu().numpy(), runner_up.cpu().numpy()
    predicted_np = logits.argmax(dim=1).cpu().numpy()
    labels = [to_json_value(c) for c in classes]
    widths = _kernel_size_sets(config.kernel_sizes)
    listed = [_listed(span, which, top, texts, encoded, widths) for which in (0, 1)]
    token_scores = _token_scores(span, lengths)
    results = []
    for row, (text, enc) in enumerate(zip(texts, encoded, strict=True)):
        (logit_ngrams, logit_rest), (margin_ngrams, margin_rest) = listed[0][row], listed[1][row]
        shares, margins = token_scores[row]
        tokens = [
            Token(text[a:b], a, b, score, margin)
            for (a, b), score, margin in zip(enc.offsets, shares, margins, strict=True)
        ]
        results.append(
            Explanation(
                text=text,
                label=labels[chosen_np[row]],
                predicted=labels[predicted_np[row]],
                probability=float(probabilities[row, chosen_np[row]]),
                logit=Attribution(float(values_np[row, 0]), float(biases_np[row, 0]), logit_ngrams, logit_rest),
                runner_up=labels[runner_np[row]],
                margin=Attribution(float(values_np[row, 1]), float(biases_np[row, 1]), margin_ngrams, margin_rest),
                tokens=tokens,
                dropped=enc.dropped,
            )
        )
    return results


@dataclass
class _Spans:
    """The batch's distinct (text, token span)s, grouped by text: rows bounds[i]:bounds[i + 1] are text i's."""

    rows: np.ndarray  # the text of each span
    start: np.ndarray
    end: np.ndarray
    groups: np.ndarray  # bit g set when a window of kernel group g covers exactly this span
    scores: np.ndarray  # (spans, 2): the logit's and the margin's
    texts: int


def _merge_spans(
    rows: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    group: np.ndarray,
    scores: np.ndarray,
    longest: int,
    texts: int,
) -> _Spans:
    """Sum the windows' scores per (text, token span), vectorised over the whole batch."""
    side = longest + 1
    key = (rows * side + start) * side + end
    unique, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.ravel()
    summed = np.stack([np.bincount(inverse, weights=scores[:, k], minlength=len(unique)) for k in (0, 1)], axis=1)
    bits = np.zeros(len(unique), dtype=np.int64)
    np.bitwise_or.at(bits, inverse, np.left_shift(1, group))
    return _Spans(unique // (side * side), (unique // side) % side, unique % side, bits, summed, texts)


def _kernel_size_sets(kernel_sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """For each bit mask of kernel groups, the sorted distinct widths it names."""
    return [
        tuple(sorted({k for g, k in enumerate(kernel_sizes) if bits >> g & 1}))
        for bits in range(1 << len(kernel_sizes))
    ]


def _listed(
    span: _Spans,
    which: int,
    top: int | None,
    texts: list[str],
    encoded: list[_Encoded],
    widths: list[tuple[int, ...]],
) -> list[tuple[list[NGram], float]]:
    """Per text, its `top` n-grams by absolute score (column `which`), largest first, and the rest's sum."""
    scores = span.scores[:, which]
    order = np.lexsort((-np.abs(scores), span.rows))  # by text, then by |score| descending (stable)
    if top is not None:
        first_of_text = np.searchsorted(span.rows[order], np.arange(span.texts))
        rank = np.arange(len(order)) - first_of_text[span.rows[order]]
        order = order[rank < top]
    totals = np.bincount(span.rows, weights=scores, minlength=span.texts)
    kept = np.bincount(span.rows[order], weights=scores[order], minlength=span.texts)
    bounds = np.searchsorted(span.rows[order], np.arange(span.texts + 1))
    starts, ends = span.start[order].tolist(), span.end[order].tolist()
    bits, values = span.groups[order].tolist(), scores[order].tolist()
    out = []
    for row in range(span.texts):
        text, enc = texts[row], encoded[row]
        ngrams = [
            _ngram(starts[i], ends[i], widths[bits[i]], values[i], text, enc)
            for i in range(bounds[row], bounds[row + 1])
        ]
        out.append((ngrams, float(totals[row] - kept[row])))
    return out


def _ngram(start: int, end: int, kernel_sizes: tuple[int, ...], score: float, text: str, enc: _Encoded) -> NGram:
    if start == end:
        return NGram(start, end, "", 0, 0, kernel_sizes, score)
    char_start, char_end = enc.offsets[start][0], enc.offsets[end - 1][1]
    gap = next((i for i in range(start + 1, end) if i in enc.gaps), None) if enc.gaps else None
    if gap is None:
        shown = text[char_start:char_end]
    else:  # the span joins the kept head and tail of a truncated text
        shown = text[char_start : enc.offsets[gap - 1][1]] + GAP + text[enc.offsets[gap][0] : char_end]
    return NGram(start, end, shown, char_start, char_end, kernel_sizes, score)


def _token_scores(span: _Spans, lengths: np.ndarray) -> list[tuple[list[float], list[float]]]:
    """Per text, each token's share of the logit's and the margin's n-gram scores (a display convention):
    each span's score spread evenly over its tokens."""
    first = np.concatenate([[0], np.cumsum(lengths + 1)])  # each text's slots, one more than its tokens
    nonempty = span.end > span.start
    rows, start, end = span.rows[nonempty], span.start[nonempty], span.end[nonempty]
    out = []
    for k in (0, 1):
        share = span.scores[nonempty, k] / (end - start)
        steps = np.bincount(first[rows] + start, weights=share, minlength=first[-1])
        steps -= np.bincount(first[rows] + end, weights=share, minlength=first[-1])
        out.append(np.cumsum(steps))
    per_text = []
    for row in range(len(lengths)):
        lo = first[row]
        hi = lo + lengths[row]
        # minus the running sum before the text: the rounding left over by earlier texts' steps
        base = [out[k][lo - 1] if lo else 0.0 for k in (0, 1)]
        per_text.append(((out[0][lo:hi] - base[0]).tolist(), (out[1][lo:hi] - base[1]).tolist()))
    return per_text


#: Rows read and explained together by `iter_file_explanations`.
EXPLAIN_CHUNK_ROWS = 1024


def iter_file_explanations(
    model: TextCNN,
    tokenizer: Tokenizer,
    classes: Classes,
    input_path: str,
    *,
    input_format: str | None = None,
    text_column: str = "text",
    encoding: str = "utf-8",
    quoting: str = "csv",
    top: int | None = 10,
    label: Any = None,
    batch_size: int = 256,
    chunk_rows: int = EXPLAIN_CHUNK_ROWS,
) -> Iterator[list[Explanation]]:
    """Explanations of every row of a file (or "-", stdin), read as `textcnn predict` reads it, chunk by chunk."""
    from textcnn.prediction.readers import read_chunks, resolve_input

    check_request(classes, top=top, label=label, batch_size=batch_size)
    spec = resolve_input(
        input_path, input_format=input_format, text_column=text_column, encoding=encoding, quoting=quoting
    )
    for chunk in read_chunks(spec, chunk_rows):
        yield explain_texts(model, tokenizer, classes, chunk.texts, top=top, label=label, batch_size=batch_size)
