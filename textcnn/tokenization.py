"""Word-level tokenizers built with Hugging Face `tokenizers`, trained on the training texts.

Normalisation is NFKC + lowercase. Pre-tokenisation splits on whitespace and punctuation and, so
that languages written without spaces do not collapse into one token per sentence, isolates every
Han, Hiragana and Katakana character as a token of its own (the convolutions then see character
n-grams, the usual unit for Chinese and Japanese text classification), and likewise every letter of
Thai, Lao, Khmer, Myanmar and the other spaceless scripts of South-East Asia (Tai Tham, Balinese,
Javanese, ...) with its vowel and tone marks. Each emoji is a token of its own too. Between two
neighbouring Han/Kana characters goes their bigram's token (`textcnn.cjk`), so that a model sees
two-character words directly without a dictionary.

The rule lives in each tokenizer.json: a tokenizer saved by an older version keeps the
pre-tokenizer it was trained with, and gets bigrams only if its vocabulary has
`textcnn.cjk.CJK_BIGRAMS_MARKER`, so its models tokenise exactly as before.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from textcnn.cjk import BigramCounter, add_bigrams, bigram_table
from textcnn.config import TRUNCATIONS
from textcnn.errors import TextCNNError, first_line

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
PAD_ID = 0
UNK_ID = 1

#: Han ideographs, Hiragana, Katakana and CJK compatibility ideographs.
_CJK_RANGES = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHARACTER = f"[{_CJK_RANGES}]"

#: Thai, Lao, Myanmar (with extensions A and B), Khmer (with its symbols), and the other scripts of
#: South-East Asia written without spaces between words: New Tai Lue, Buginese, Tai Tham, Balinese,
#: Javanese and Tai Viet.
_SPACELESS_RANGES = (
    r"\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\ua9e0-\ua9ff\uaa60-\uaa7f"
    r"\u1980-\u19df\u1a00-\u1a1f\u1a20-\u1aaf\u1b00-\u1b7f\ua980-\ua9df\uaa80-\uaadf"
)

_SPACELESS_LETTER_ONLY = rf"[{_SPACELESS_RANGES}&&[^\p{{Nd}}\p{{M}}]]"

#: A letter of one of those scripts (Tibetan separates syllables with a tsheg, which is punctuation,
#: so it needs no rule), with its combining vowel and tone marks; Khmer's coeng, Myanmar's virama,
#: Tai Tham's sakot, Balinese adeg-adeg and Javanese pangkon also keep the consonant they stack.
#: Digits are left out, so numbers stay whole.
SPACELESS_LETTER = rf"{_SPACELESS_LETTER_ONLY}(?:[\u1039\u17d2\u1a60\u1b44\ua9c0]{_SPACELESS_LETTER_ONLY}|\p{{M}})*"

_PICTOGRAPH_CLASSES = r"\p{So}\p{Extended_Pictographic}"
_PICTOGRAPH = f"[{_PICTOGRAPH_CLASSES}]"
_REGIONAL_INDICATORS = r"\x{1F1E6}-\x{1F1FF}"
#: Skin tones, variation selectors, keycaps and tag characters that belong to the emoji before them.
_EMOJI_MODIFIERS = r"[\p{M}\x{1F3FB}-\x{1F3FF}\x{E0020}-\x{E007F}]*"

#: A flag (two regional indicators), or an emoji or other symbol with its modifiers and the emoji
#: joined to it by ZWJ: otherwise `great!😀` would give the token `!😀`, not the `😀` of `great 😀`.
EMOJI = (
    rf"[{_REGIONAL_INDICATORS}]{{1,2}}"
    rf"|{_PICTOGRAPH}{_EMOJI_MODIFIERS}(?:\u200d{_PICTOGRAPH}{_EMOJI_MODIFIERS})*"
)

#: Every text unit isolated as a token of its own.
ISOLATED_UNIT = f"{CJK_CHARACTER}|{SPACELESS_LETTER}|{EMOJI}"

#: The characters an isolated unit can start with (each alternative above needs just its first).
_NOT_A_UNIT_START = (
    f"[^{_CJK_RANGES}{_PICTOGRAPH_CLASSES}{_REGIONAL_INDICATORS}]"
    rf"&&[\p{{Nd}}\p{{M}}[^{_SPACELESS_RANGES}]]"
)

#: What tokenizers' Whitespace pre-tokenizer (Rust regex `\w+|[^\w\s]+`) calls a word character and
#: a character that is neither word nor space, spelled for the Oniguruma regexes of `Split`, less
#: the characters an isolated unit starts with (so that a run stops where a unit starts: a
#: class, which is much faster than a look-ahead for the unit at every character).
_WORD = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}"
_WORD_CHARACTER = rf"[[{_WORD}]&&{_NOT_A_UNIT_START}]"
_OTHER_CHARACTER = rf"[[^{_WORD}\p{{White_Space}}]&&{_NOT_A_UNIT_START}]"

#: A keycap emoji (#️⃣, 1️⃣): a key character, maybe the emoji variation selector, then U+20E3. Tried
#: first where a pre-token starts, it changes nothing in text without U+20E3; a key character inside a
#: run (`a1️⃣`) stays with the run, since excluding digits from runs would split words from numbers.
KEYCAP = r"[#*0-9]\uFE0F?\u20E3"

#: One pre-token: a keycap or an isolated unit, else a run of word characters or of other
#: non-space characters (as Whitespace splits them) that stops where an isolated unit starts.
PRE_TOKEN = rf"{KEYCAP}|{ISOLATED_UNIT}|{_WORD_CHARACTER}+|{_OTHER_CHARACTER}+"

#: Texts are cut to this many characters per allowed token before tokenising, so a single
#: multi-megabyte line cannot exhaust memory; generous enough never to cut a text that fits.
CHARS_PER_TOKEN_BUDGET = 32

#: Texts encoded per call of the fast batch encoder (bounds the transient `Encoding` objects).
ENCODE_CHUNK = 1024


def build_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Keep each `PRE_TOKEN` match, drop the whitespace between them.

    One `Split` rather than isolating units and then applying Whitespace: Whitespace would cut an
    isolated emoji again at its variation selector or ZWJ (word characters to Rust's regex). For
    text without isolated units it gives exactly Whitespace's tokens.
    """
    return pre_tokenizers.Split(Regex(PRE_TOKEN), behavior="removed", invert=True)


def build_normalizer() -> normalizers.Normalizer:
    return normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])


def train_tokenizer(
    texts: Iterable[str],
    *,
    min_freq: int = 1,
    max_vocab: int | None = None,
    max_length: int | None = None,
    truncation: str = "head",
    cjk_bigrams: bool = True,
) -> Tokenizer:
    """Train a WordLevel tokenizer whose ids 0 and 1 are `[PAD]` and `[UNK]`.

    With `max_length`, only the part of each text that `encode_batch` would keep is counted, so a
    multi-megabyte line costs no more memory than a text of `max_length` tokens. With
    `cjk_bigrams`, texts with Chinese or Japanese characters also give a vocabulary of character
    bigrams (up to `max_vocab` more tokens, each seen `min_freq` times), which `encode_batch`
    inserts between neighbouring characters (see `textcnn.cjk`); other texts are not affected.
    """
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    tokenizer.normalizer = build_normalizer()
    tokenizer.pre_tokenizer = build_pre_tokenizer()
    trainer_kwargs: dict = {"min_frequency": min_freq, "special_tokens": [PAD_TOKEN, UNK_TOKEN]}
    if max_vocab is not None:
        trainer_kwargs["vocab_size"] = max_vocab
    trainer = trainers.WordLevelTrainer(show_progress=False, **trainer_kwargs)
    max_chars = max_length * CHARS_PER_TOKEN_BUDGET if max_length is not None else None
    bigrams = BigramCounter(tokenizer) if cjk_bigrams else None
    batches = _batched(texts, 1000, max_chars, truncation)
    tokenizer.train_from_iterator(bigrams.watch(batches) if bigrams else batches, trainer=trainer)
    if bigrams is not None:
        add_bigrams(tokenizer, bigrams.counts, min_freq=min_freq, max_bigrams=max_vocab)
    return tokenizer


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a `tokenizer.json`; it must define `[PAD]` (used for padding)."""
    path = Path(path)
    if not path.is_file():
        raise TextCNNError(f"tokenizer file not found: {path}")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception on bad JSON
        raise TextCNNError(f"{path} is not a valid tokenizer.json: {first_line(error)}") from None
    if tokenizer.token_to_id(PAD_TOKEN) is None:
        raise TextCNNError(f"{path} has no {PAD_TOKEN} token; add one so texts can be padded")
    # The model's own vocabulary must hold it: `token_to_id` also finds added tokens, but the model
    # (WordLevel, BPE, WordPiece) looks its unknown token up only in its vocabulary, and fails on
    # the first unknown word when it is not there.
    unknown = getattr(tokenizer.model, "unk_token", None)
    if unknown is not None and tokenizer.model.token_to_id(unknown) is None:
        raise TextCNNError(
            f"{path} names {unknown} as its unknown token but has no such token; add it to its vocabulary"
        )
    return tokenizer


def prepare_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """Turn off any padding/truncation baked into the file; textcnn pads and truncates itself."""
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def encode_batch(
    tokenizer: Tokenizer, texts: Sequence[str | None], max_length: int, truncation: str = "head"
) -> list[list[int]]:
    """Token ids of each text, truncated to `max_length` as `truncation` says (one of
    `TRUNCATIONS`). `None` is treated as an empty text.

    Texts are encoded `ENCODE_CHUNK` at a time: a tokenizers `Encoding` carries tokens, offsets and
    masks besides the ids, and holding them for a whole input at once costs several times the
    memory of the ids themselves. A tokenizer with CJK bigrams (`textcnn.cjk`) gets them inserted
    before truncation: they count against `max_length` like any token.
    """
    char_budget = max_length * CHARS_PER_TOKEN_BUDGET
    bigrams = bigram_table(tokenizer)
    ids: list[list[int]] = []
    for batch in _batched(texts, ENCODE_CHUNK, char_budget, truncation):
        encodings = tokenizer.encode_batch_fast(batch, add_special_tokens=False)
        if bigrams is None:
            ids.extend(keep_tokens(encoding.ids, max_length, truncation) for encoding in encodings)
        else:
            ids.extend(keep_tokens(bigrams.insert(encoding.ids), max_length, truncation) for encoding in encodings)
    return ids


def keep_tokens(ids: list[int], max_length: int, truncation: str = "head") -> list[int]:
    """The at most `max_length` ids of one text that `truncation` keeps.

    "head+tail" keeps the first quarter and the last three quarters of the budget: the end of a long
    review or report often holds its verdict (Sun et al. 2019, "How to Fine-Tune BERT for Text
    Classification?", where head+tail beat head-only truncation on IMDB).
    """
    if len(ids) <= max_length:
        return ids
    if truncation == "head":
        return ids[:max_length]
    if truncation == "tail":
        return ids[-max_length:]
    if truncation == "head+tail":
        head = max_length // 4
        return ids[:head] + ids[len(ids) - (max_length - head) :]
    raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")


def clip_text(text: str | None, max_chars: int | None, truncation: str = "head") -> str:
    """Cut a text to the characters that can hold the tokens `keep_tokens` keeps.

    `max_chars` is per end: a head (or tail) of that many characters holds far more than
    `max_length` tokens, so cutting never changes the kept ids, only bounds the tokenizer's work.
    """
    text = text or ""
    if max_chars is None or len(text) <= max_chars:
        return text
    if truncation == "head":
        return text[:max_chars]
    if truncation == "tail":
        return text[-max_chars:]
    if len(text) <= 2 * max_chars:
        return text
    return text[:max_chars] + " " + text[-max_chars:]


def _batched(
    texts: Iterable[str | None], size: int, max_chars: int | None = None, truncation: str = "head"
) -> Iterator[list[str]]:
    batch: list[str] = []
    for text in texts:
        batch.append(clip_text(text, max_chars, truncation))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def tokenize_dataset(
    dataset: Any, tokenizer: Tokenizer, max_length: int, truncation: str = "head", *, show_progress: bool | None = None
) -> Any:
    """Add an `input_ids` column to a `datasets.Dataset` with a batched, fast `map`.

    `show_progress=None` shows the "Tokenizing" bar only when stderr is a terminal, like training's.
    """

    def encode(batch: dict[str, list]) -> dict[str, list[list[int]]]:
        return {"input_ids": encode_batch(tokenizer, batch["text"], max_length, truncation)}

    with datasets_progress_bars(sys.stderr.isatty() if show_progress is None else show_progress):
        return dataset.map(encode, batched=True, batch_size=2000, remove_columns=["text"], desc="Tokenizing")


@contextmanager
def datasets_progress_bars(show: bool) -> Iterator[None]:
    """Hide `datasets`' progress bars inside the block when `show` is false (they are global)."""
    import datasets

    hide = not show and datasets.is_progress_bar_enabled()
    if hide:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if hide:
            datasets.enable_progress_bars()
