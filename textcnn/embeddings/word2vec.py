"""In-domain word vectors: word2vec (skip-gram, negative sampling) trained with gensim.

Texts are tokenised exactly as textcnn's own tokenizer does (same normaliser and pre-tokeniser),
so the vector words match the vocabulary a model trained on similar text will have. gensim is an
optional dependency (`pip install 'textcnn[vectors]'`).

The output's name says its format, as other tools (gensim's `load_word2vec_format`) read
it: word2vec text for `.txt` / `.vec`, word2vec binary otherwise, gzip-compressed when the
name ends in `.gz` (`v.bin.gz`, `v.txt.gz`). textcnn's own reader goes by the content instead.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textcnn.errors import TextCNNError
from textcnn.tokenization import build_normalizer, build_pre_tokenizer

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'textcnn[vectors]'"
#: Names (before a `.gz`) that ask for word2vec text; any other name gets word2vec binary.
TEXT_SUFFIXES = (".txt", ".vec")
#: Compression that tools infer from these suffixes but textcnn's vectors reader cannot undo.
UNREADABLE_COMPRESSION = (".bz2", ".xz", ".lz4", ".zst", ".zip", ".7z")


@dataclass(frozen=True)
class VectorsOutput:
    """The format a vectors file name asks for."""

    binary: bool
    compressed: bool  # gzip

    @property
    def description(self) -> str:
        return f"word2vec {'binary' if self.binary else 'text'}{', gzip' if self.compressed else ''}"


def vectors_output(out: str | Path) -> VectorsOutput:
    """The format to write to `out`, from its name; a compression textcnn cannot read back is refused."""
    name = Path(out).name.lower()
    if name.endswith(UNREADABLE_COMPRESSION):
        raise TextCNNError(
            f"cannot write vectors to {out}: textcnn reads plain or gzip-compressed vector files only; "
            "end the name in .gz (e.g. vectors.bin.gz) or in no compression suffix"
        )
    compressed = name.endswith(".gz")
    stem = name.removesuffix(".gz")
    return VectorsOutput(binary=not stem.endswith(TEXT_SUFFIXES), compressed=compressed)


@dataclass
class Word2VecSettings:
    dim: int = 300  # Kim 2014 used 300-d word2vec
    min_count: int = 5  # word2vec's default: rarer words get no vector
    epochs: int = 5
    window: int = 5
    negative: int = 5  # negative samples per positive (word2vec's default)
    workers: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("dim", "min_count", "epochs", "window", "negative", "workers"):
            if getattr(self, name) < 1:
                raise TextCNNError(f"{name.replace('_', '-')} must be >= 1")


@dataclass
class Word2VecResult:
    path: Path
    words: int  # vocabulary size of the vectors
    tokens: int  # tokens in the corpus
    texts: int


def require_gensim() -> None:
    """Raise a one-line install hint when gensim is missing."""
    try:
        import gensim  # noqa: F401
    except ImportError:
        raise TextCNNError(f"training word vectors needs gensim: {INSTALL_HINT}") from None


def tokenize_for_vectors(texts: Iterable[str | None]) -> Iterable[list[str]]:
    """Texts -> token lists with the normalisation and pre-tokenisation of textcnn's tokenizer."""
    normalizer = build_normalizer()
    pre_tokenizer = build_pre_tokenizer()
    for text in texts:
        if text:
            yield [token for token, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))]


def train_word2vec(texts: Iterable[str | None], out: str | Path, settings: Word2VecSettings) -> Word2VecResult:
    """Train skip-gram word2vec on `texts` and write the vectors to `out` (atomically), in the
    format its name asks for (`vectors_output`).

    The corpus is tokenised once into a temporary one-sentence-per-line file next to `out`, which
    gensim then streams on every epoch: memory stays flat however large the corpus is.
    """
    require_gensim()
    from gensim.models import Word2Vec

    out = Path(out)
    fmt = vectors_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".textcnn-w2v-", dir=out.parent) as scratch:
        corpus_file = Path(scratch) / "corpus.txt"
        n_texts = n_tokens = 0
        with corpus_file.open("w", encoding="utf-8") as handle:
            for tokens in tokenize_for_vectors(texts):
                if tokens:
                    handle.write(" ".join(tokens) + "\n")
                    n_texts += 1
                    n_tokens += len(tokens)
        if n_tokens == 0:
            raise TextCNNError("the corpus holds no text to train word vectors on")
        logger.info("training %d-d word2vec on %d texts (%d tokens)", settings.dim, n_texts, n_tokens)
        model = Word2Vec(
            vector_size=settings.dim,
            window=settings.window,
            min_count=settings.min_count,
            sg=1,  # skip-gram
            hs=0,
            negative=settings.negative,
            workers=settings.workers,
            seed=settings.seed,
        )
        model.build_vocab(corpus_file=str(corpus_file))
        if len(model.wv) == 0:
            raise TextCNNError(
                f"no word occurs {settings.min_count} times in the corpus; lower `min_count` or use more text"
            )
        model.train(
            corpus_file=str(corpus_file),
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=settings.epochs,
        )
        tmp = Path(scratch) / "vectors"  # no suffix: gensim (smart_open) would compress by it
        model.wv.save_word2vec_format(str(tmp), binary=fmt.binary)
        if fmt.compressed:
            tmp = _gzip(tmp)
        os.replace(tmp, out)
    return Word2VecResult(path=out, words=len(model.wv), tokens=n_tokens, texts=n_texts)


def _gzip(path: Path) -> Path:
    """`path` gzip-compressed into `path.gz`; mtime 0 in the header, so the same vectors give the same bytes."""
    packed = path.with_name(path.name + ".gz")
    with path.open("rb") as source, packed.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    path.unlink()
    return packed
