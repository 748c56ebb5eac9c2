"""Data-dependent defaults for the token budget and the number of filters ("auto").

Kim's (2014) sizes, 256 tokens and 100 filters per width, suit sentences. Long documents
(reviews, reports, e-mails) need more: a review of 600 tokens holds many more distinct phrases
than 300 max-pooled features can tell apart, and 256 tokens cut most of it away; on sentences
the larger sizes only add compute (the held-out comparison is in docs/measurements.md). So
`max_length="auto"` and `num_filters="auto"` look at the training texts: when the median text
has at least `DOCUMENT_MEDIAN_TOKENS` tokens, they resolve to the document sizes, otherwise to
Kim's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from textcnn.cjk import bigram_table, neighbours
from textcnn.config import (
    AUTO,
    DOCUMENT_MAX_LENGTH,
    DOCUMENT_MEDIAN_TOKENS,
    DOCUMENT_NUM_FILTERS,
    SENTENCE_MAX_LENGTH,
    SENTENCE_NUM_FILTERS,
)
from textcnn.tokenization import CHARS_PER_TOKEN_BUDGET, build_normalizer, build_pre_tokenizer

#: Training texts whose tokens are counted: enough for a stable median, cheap on any corpus.
LENGTH_SAMPLE_SIZE = 1000


@dataclass(frozen=True)
class Sizing:
    """Resolved sizes, and the median training length they were decided from (None: not measured)."""

    max_length: int
    num_filters: int
    median_tokens: float | None

    @property
    def for_documents(self) -> bool:
        """Whether the training texts were long enough to count as documents."""
        return self.median_tokens is not None and is_document_length(self.median_tokens)


def is_document_length(median_tokens: float) -> bool:
    return median_tokens >= DOCUMENT_MEDIAN_TOKENS


def is_auto(value: object) -> bool:
    return isinstance(value, str) and value == AUTO


def check_size(name: str, value: object) -> None:
    """Raise ValueError unless `value` is "auto" or an integer >= 1."""
    if is_auto(value):
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1 or {AUTO!r}, not {value!r}")


def sample_positions(count: int, size: int = LENGTH_SAMPLE_SIZE) -> np.ndarray:
    """Up to `size` positions in `range(count)`, spread evenly (deterministic, no RNG)."""
    if count <= size:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, size).round().astype(int))


def median_token_count(texts: Sequence[str | None], tokenizer: Tokenizer | None = None) -> float:
    """Median number of tokens per text, with `tokenizer`, or with the tokenizer textcnn would train.

    A trained WordLevel tokenizer maps every pre-token to one id, and puts a CJK bigram between
    each two neighbouring CJK characters, so counting the default normaliser's and pre-tokeniser's
    output and those pairs gives its lengths before any vocabulary exists. Each
    text is cut to what `DOCUMENT_MAX_LENGTH` tokens can span first (a 10 MB line costs no more),
    which changes no count below that.
    """
    max_chars = DOCUMENT_MAX_LENGTH * CHARS_PER_TOKEN_BUDGET
    cut = ["" if text is None else text[:max_chars] for text in texts]
    if not cut:
        return 0.0
    if tokenizer is not None:
        bigrams = bigram_table(tokenizer)
        encodings = tokenizer.encode_batch(cut, add_special_tokens=False)
        counts = [len(bigrams.insert(e.ids) if bigrams else e.ids) for e in encodings]
    else:
        normalizer, pre_tokenizer = build_normalizer(), build_pre_tokenizer()
        pre_tokens = ([token for token, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(t))] for t in cut)
        counts = [len(tokens) + len(neighbours(tokens)) for tokens in pre_tokens]
    return float(np.median(counts))


def resolve_sizing(max_length: int | str, num_filters: int | str, median_tokens: float | None) -> Sizing:
    """Replace each "auto" by the sentence or the document size, as `median_tokens` says."""
    if not (is_auto(max_length) or is_auto(num_filters)):
        return Sizing(int(max_length), int(num_filters), median_tokens)
    if median_tokens is None:
        raise ValueError("an 'auto' size needs the median token count of the training texts")
    documents = is_document_length(median_tokens)
    return Sizing(
        max_length=(DOCUMENT_MAX_LENGTH if documents else SENTENCE_MAX_LENGTH)
        if is_auto(max_length)
        else int(max_length),
        num_filters=(DOCUMENT_NUM_FILTERS if documents else SENTENCE_NUM_FILTERS)
        if is_auto(num_filters)
        else int(num_filters),
        median_tokens=median_tokens,
    )
