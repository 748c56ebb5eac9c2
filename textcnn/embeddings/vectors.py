"""Pretrained word vectors: a streaming reader that keeps only the rows a vocabulary needs.

Supported files, each optionally gzip-compressed:

- word2vec binary (`.bin`): a `"<count> <dim>"` header line, then per word its UTF-8 bytes, a space
  and `dim` little-endian float32 values (optionally followed by a newline);
- word2vec / GloVe / fastText text (`.txt`, `.vec`): one `word v1 ... vdim` line per word, with or
  without a `"<count> <dim>"` header line.

The format is read from the content, never from the name: gzip by its magic bytes, a header by a
first line of exactly two integers, binary versus text by whether the first row after the header
parses as `dim + 1` whitespace-separated fields of which the last `dim` are numbers.

The file is streamed once; only rows whose word is in the vocabulary are decoded, so memory is
proportional to the vocabulary (one `(vocab_size, dim)` float32 matrix), not to the file.

Case handling, for each vocabulary token `t` (textcnn's tokenizer lowercases, so `t` is usually
lowercase already), the first match in this order wins, whatever its position in the file:

1. a row spelled exactly `t`;
2. a row spelled `t.lower()`;
3. the first row in the file whose lowercase form is `t.lower()` (e.g. `Paris` for `paris` when
   the file has no `paris` row; word2vec files are sorted by frequency, so the commonest casing).

Words the file lacks are initialised U[-a, a] with `a` chosen so that their variance matches the
mean per-dimension variance of the vectors found (Kim 2014); the padding row is zero.
"""

from __future__ import annotations

import gzip
import itertools
import logging
import math
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from textcnn.errors import TextCNNError

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
#: Bytes read per refill of the binary reader.
CHUNK_SIZE = 1 << 20
#: Longest word accepted in a binary file before it is declared corrupt.
MAX_WORD_BYTES = 1 << 16

# Priority of a match (lower wins), see the module docstring.
_EXACT, _LOWERCASE, _CASE_FOLDED, _MISSING = 0, 1, 2, 3


@dataclass(frozen=True)
class VectorsFormat:
    """What `detect_format` found in a vectors file."""

    binary: bool
    compressed: bool
    dim: int
    count: int | None  # from the header line; None when the file has none

    @property
    def description(self) -> str:
        kind = "word2vec binary" if self.binary else "text"
        header = "" if self.binary else (", with header" if self.count is not None else ", no header")
        return f"{kind}{header}{', gzip' if self.compressed else ''}"


@dataclass
class PretrainedVectors:
    """Vectors aligned to a vocabulary's ids, plus what was found."""

    matrix: np.ndarray  # (vocab_size, dim) float32
    found: np.ndarray  # (vocab_size,) bool: True where the row came from the file
    looked_up: np.ndarray  # (vocab_size,) bool: True for the words looked up (not special tokens)
    format: VectorsFormat
    init_range: float  # `a` of U[-a, a] used for the missing words
    rows_read: int = 0  # rows in the file
    path: str = ""

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def found_count(self) -> int:
        return int(self.found.sum())

    @property
    def vocab_count(self) -> int:
        return int(self.looked_up.sum())

    def token_coverage(self, sequences: Iterable[Sequence[int]], pad_id: int | None = None) -> float:
        """Share of the (non-padding) token occurrences in `sequences` whose id has a pretrained row."""
        ids = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64)
        counts = np.bincount(ids[(ids >= 0) & (ids < len(self.found))], minlength=len(self.found))
        if pad_id is not None:
            counts[pad_id] = 0
        total = int(counts.sum())
        return float(counts[self.found].sum() / total) if total else 0.0


def detect_format(path: str | Path) -> VectorsFormat:
    """Sniff compression, header, dimension and binary-vs-text from the start of the file."""
    path = Path(path)
    with _open_vectors(path) as (stream, compressed):
        try:
            head = stream.read(CHUNK_SIZE).removeprefix(UTF8_BOM)
        except (OSError, EOFError, zlib.error) as error:
            raise TextCNNError(f"{path} is corrupt or truncated: {error}") from None
    if not head.strip():
        raise TextCNNError(f"{path} is empty; expected word vectors (word2vec .bin, or .txt/.vec text)")
    first_end = head.find(b"\n")
    first = head if first_end < 0 else head[:first_end]
    header = _parse_header(first)
    if header is None:  # no header: GloVe-style text, the dimension is the number of values
        fields = first.split()
        if len(fields) < 2 or not _all_numbers(fields[1:]):
            raise TextCNNError(
                f"{path} does not look like a word vectors file: its first line is neither a "
                "'<count> <dim>' header nor 'word v1 v2 ...'"
            )
        return VectorsFormat(binary=False, compressed=compressed, dim=len(fields) - 1, count=None)
    count, dim = header
    rest = head[first_end + 1 :]
    row_end = rest.find(b"\n")
    row = rest if row_end < 0 else rest[:row_end]
    fields = row.rsplit(None, dim)
    binary = not (len(fields) == dim + 1 and _all_numbers(fields[1:]))
    values = row.split()[1:]
    if len(values) not in (0, dim) and _all_numbers(values):  # a text row, but not of the header's size
        raise TextCNNError(
            f"{path}: the header says {dim}-dimensional vectors but line 2 holds {len(values)} values; "
            "correct the header's second number or remove the header line"
        )
    return VectorsFormat(binary=binary, compressed=compressed, dim=dim, count=count)


def iter_vectors(path: str | Path, wanted: Collection[str] | None = None) -> Iterator[tuple[str, np.ndarray | None]]:
    """Yield `(word, vector)` for every row; the vector is None unless `wanted` is None or holds the word.

    The vector is None too for a text row whose word contains spaces (a few GloVe files have such
    rows; `word` is then only its first part): textcnn's tokens never contain spaces.

    Use `load_vectors` to build a matrix for a vocabulary; this is the low-level stream.
    """
    path = Path(path)
    fmt = detect_format(path)
    rows = _binary_rows(path, fmt) if fmt.binary else _text_rows(path, fmt)
    for word, decode in rows:
        yield word, (decode() if wanted is None or word in wanted else None)


def load_vectors(
    path: str | Path,
    vocab: Mapping[str, int],
    *,
    vocab_size: int,
    pad_id: int | None = 0,
    special_tokens: Collection[str] = (),
    seed: int = 0,
    expected_dim: int | None = None,
) -> PretrainedVectors:
    """Read `path` once and return its rows for `vocab` (token -> id) as a `(vocab_size, dim)` matrix.

    `special_tokens` (e.g. `[PAD]`, `[UNK]`) are not looked up; they and the words the file lacks
    get U[-a, a] rows (see the module docstring) and `pad_id` a zero row. `expected_dim`, when
    given, must equal the file's dimension.
    """
    path = Path(path)
    if not path.is_file():
        raise TextCNNError(f"vectors file not found: {path}")
    fmt = detect_format(path)
    if expected_dim is not None and expected_dim != fmt.dim:
        raise TextCNNError(
            f"{path} holds {fmt.dim}-dimensional vectors but `embedding_dim` is {expected_dim}; "
            f"pass `embedding_dim={fmt.dim}` or leave it out to take the size from the vectors"
        )
    exact: dict[str, int] = {}
    by_lower: dict[str, list[int]] = {}
    looked_up = np.zeros(vocab_size, dtype=bool)
    specials = set(special_tokens)
    for token, index in vocab.items():
        if token in specials or not 0 <= index < vocab_size:
            continue
        exact[token] = index
        by_lower.setdefault(token.lower(), []).append(index)
        looked_up[index] = True

    matrix = np.zeros((vocab_size, fmt.dim), dtype=np.float32)
    priority = np.full(vocab_size, _MISSING, dtype=np.int8)
    rows_read = 0
    rows = _binary_rows(path, fmt) if fmt.binary else _text_rows(path, fmt)
    for word, decode in rows:
        rows_read += 1
        index = exact.get(word, -1)  # vocabulary ids are >= 0 (checked above)
        exact_hit = index >= 0 and priority[index] > _EXACT
        lower = word.lower()
        rank = _LOWERCASE if word == lower else _CASE_FOLDED
        targets = [i for i in by_lower.get(lower, ()) if priority[i] > rank]
        if not exact_hit and not targets:
            continue
        vector = decode()
        if vector is None:
            continue
        if not np.isfinite(vector).all():  # one would make every loss, and then every weight, NaN
            raise TextCNNError(f"{path}: the vector for '{word}' holds nan or inf values; the file is corrupt")
        if exact_hit:
            matrix[index] = vector
            priority[index] = _EXACT
        targets = [i for i in targets if priority[i] > rank]
        if targets:
            matrix[targets] = vector
            priority[targets] = rank

    found = priority < _MISSING
    if not found.any():
        raise TextCNNError(
            f"none of the {int(looked_up.sum())} vocabulary words is in {path} ({rows_read} vectors read); "
            "is it the right file for this language and tokenisation?"
        )
    init_range = _matching_uniform_range(matrix[found])
    missing = ~found
    rng = np.random.default_rng(seed)
    matrix[missing] = rng.uniform(-init_range, init_range, size=(int(missing.sum()), fmt.dim)).astype(np.float32)
    if pad_id is not None and 0 <= pad_id < vocab_size:
        matrix[pad_id] = 0.0
    return PretrainedVectors(
        matrix=matrix,
        found=found,
        looked_up=looked_up,
        format=fmt,
        init_range=init_range,
        rows_read=rows_read,
        path=str(path),
    )


def log_coverage(vectors: PretrainedVectors, token_share: float | None = None) -> None:
    """One INFO line: found / total vocabulary words, and the share of training tokens covered."""
    total = max(vectors.vocab_count, 1)
    share = "" if token_share is None else f", {100 * token_share:.1f}% of training tokens"
    logger.info(
        "word vectors %s (%s, %d-d, %d rows): %d / %d vocabulary words found (%.1f%%)%s; the rest start U[-%.3f, %.3f]",
        vectors.path,
        vectors.format.description,
        vectors.dim,
        vectors.rows_read,
        vectors.found_count,
        vectors.vocab_count,
        100 * vectors.found_count / total,
        share,
        vectors.init_range,
        vectors.init_range,
    )


def write_vectors(
    path: str | Path,
    words: Sequence[str],
    matrix: np.ndarray,
    *,
    binary: bool,
    header: bool = True,
    compress: bool = False,
) -> None:
    """Write vectors in word2vec binary or text format (used by tests and benchmarks)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    opener = gzip.open if compress else open
    with opener(path, "wb") as out:
        if binary or header:
            out.write(f"{len(words)} {matrix.shape[1]}\n".encode())
        for word, vector in zip(words, matrix, strict=True):
            if binary:
                out.write(word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + b"\n")
            else:
                out.write((word + " " + " ".join(f"{v:.9g}" for v in vector) + "\n").encode("utf-8"))


# --------------------------------------------------------------------------- internals
@contextmanager
def _open_vectors(path: Path) -> Iterator[tuple[BinaryIO, bool]]:
    """Yield `(binary stream, compressed?)`, gunzipping when the gzip magic bytes say so."""
    try:
        raw = path.open("rb")
    except OSError as error:
        raise TextCNNError(f"cannot read vectors file {path}: {error.strerror}") from None
    with raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            yield raw, False
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield unzipped, True  # type: ignore[misc]


def _text_rows(path: Path, fmt: VectorsFormat) -> Iterator[tuple[str, _Decoder]]:
    dim = fmt.dim
    with _open_vectors(path) as (stream, _):
        try:
            if fmt.count is not None:
                stream.readline()
            for number, line in enumerate(stream, start=2 if fmt.count is not None else 1):
                if number == 1:
                    line = line.removeprefix(UTF8_BOM)
                head = line.split(None, 1)
                if not head:
                    continue  # blank line
                word = head[0].decode("utf-8", errors="replace")
                yield word, _TextRow(line, dim, path, number, word)
        except (OSError, EOFError, zlib.error) as error:
            raise TextCNNError(f"{path} is corrupt or truncated: {error}") from None


class _TextRow:
    """Parses a text row only when its word is wanted (most rows of a big file never are)."""

    __slots__ = ("dim", "line", "number", "path", "word")

    def __init__(self, line: bytes, dim: int, path: Path, number: int, word: str) -> None:
        self.line, self.dim, self.path, self.number, self.word = line, dim, path, number, word

    def __call__(self) -> np.ndarray | None:
        # Split from the right: a few GloVe releases have words containing spaces (". . .").
        fields = self.line.rsplit(None, self.dim)
        if len(fields) == self.dim + 1 and fields[0].strip() != self.line.split(None, 1)[0]:
            return None
        if len(fields) != self.dim + 1:
            raise TextCNNError(
                f"{self.path}, line {self.number}: expected {self.dim} values for '{self.word}', "
                f"found {len(fields) - 1}; the file is corrupt or mixes dimensions"
            )
        try:
            return np.array([float(v) for v in fields[1:]], dtype=np.float32)
        except ValueError:
            raise TextCNNError(f"{self.path}, line {self.number}: a value for '{self.word}' is not a number") from None


def _binary_rows(path: Path, fmt: VectorsFormat) -> Iterator[tuple[str, _Decoder]]:
    row_bytes = 4 * fmt.dim
    count = fmt.count or 0
    with _open_vectors(path) as (stream, _):
        try:
            stream.readline()  # header (a BOM, if any, goes with it)
            buffer, pos = b"", 0
            exhausted = False
            for index in range(count):
                # Refill until the buffer holds the next word, its space and its vector.
                while True:
                    while pos < len(buffer) and buffer[pos] in b"\n\r":
                        pos += 1
                    space = buffer.find(b" ", pos, pos + MAX_WORD_BYTES)
                    if space >= 0 and len(buffer) - space - 1 >= row_bytes:
                        break
                    if exhausted:
                        raise TextCNNError(
                            f"{path} ends after {index} of the {count} vectors its header announces; "
                            "the file is truncated"
                        )
                    if space < 0 and len(buffer) - pos >= MAX_WORD_BYTES:
                        raise TextCNNError(f"{path} is corrupt: no word separator after vector {index}")
                    chunk = stream.read(max(CHUNK_SIZE, row_bytes + MAX_WORD_BYTES))
                    exhausted = not chunk
                    buffer, pos = buffer[pos:] + chunk, 0
                word = buffer[pos:space].decode("utf-8", errors="replace")
                start = space + 1
                pos = start + row_bytes
                yield word, _BinaryRow(buffer, start, fmt.dim)
        except (OSError, EOFError, zlib.error) as error:
            raise TextCNNError(f"{path} is corrupt or truncated: {error}") from None


class _BinaryRow:
    __slots__ = ("buffer", "dim", "start")

    def __init__(self, buffer: bytes, start: int, dim: int) -> None:
        self.buffer, self.start, self.dim = buffer, start, dim

    def __call__(self) -> np.ndarray | None:
        return np.frombuffer(self.buffer, dtype="<f4", count=self.dim, offset=self.start).astype(np.float32)


_Decoder = _TextRow | _BinaryRow


def _parse_header(line: bytes) -> tuple[int, int] | None:
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None
    count, dim = int(fields[0]), int(fields[1])
    return (count, dim) if dim > 0 else None


def _all_numbers(fields: Sequence[bytes]) -> bool:
    try:
        for value in fields:
            float(value)
    except ValueError:
        return False
    return True


def _matching_uniform_range(found: np.ndarray) -> float:
    """`a` such that U[-a, a] (variance a²/3) has the pretrained vectors' variance (Kim 2014)."""
    variance = float(found.var(axis=0).mean()) if len(found) > 1 else float(found.var())
    a = math.sqrt(3.0 * variance)
    return a if a > 0 and math.isfinite(a) else 0.25
