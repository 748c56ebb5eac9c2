"""Character bigrams for Chinese and Japanese text, the multi-character unit that needs no dictionary.

The pre-tokenizer makes every Han, Hiragana and Katakana character a token of its own, since these
scripts put no spaces between words. Most words are two characters long, though, and a model that
sees only characters has to learn each word from its filters' weights; a linear model over
character 1-2 grams does better on a few thousand sentences. So a tokenizer trained on text with
such characters also gets a vocabulary of character bigrams, and each pair of neighbouring CJK
character tokens has its bigram's token inserted between them:

    中国人  ->  中 中国 国 国人 人

(a bigram outside the vocabulary becomes `[UNK]`, so characters and bigrams keep alternating).
Filters of width 3 then see a word together with its two characters, and width 5 a three-character
span with both its bigrams.

A tokenizer holds the rule in its own vocabulary: `CJK_BIGRAMS_MARKER` is a token that no text
produces, and only a tokenizer that has it gets bigrams. Tokenizers trained on text without CJK
characters, and every tokenizer saved before the rule existed, have no marker and tokenise exactly
as before; nothing changes for text without CJK characters in any case, since the bigrams go only
between two CJK characters.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
from tokenizers import Tokenizer, models

#: The vocabulary entry that switches bigrams on (upper case and bracketed: the lowercasing
#: normaliser and the pre-tokenizer never produce it, like `[PAD]` and `[UNK]`).
CJK_BIGRAMS_MARKER = "[CJK_BIGRAMS]"

#: Characters that are, or that NFKC turns into, Han, Hiragana or Katakana (CJK radicals, Kangxi
#: radicals, enclosed and compatibility forms, half-width Katakana): a text with none of them has
#: no bigram, so it is never normalised or pre-tokenised a second time while counting.
_MAYBE_CJK = re.compile(
    r"[\u2e80-\u2fdf\u3000-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U0001f200-\U0001f2ff\U0002f800-\U0002fa1f]"
)


@functools.cache
def _cjk_character_pattern() -> re.Pattern[str]:
    from textcnn.tokenization import CJK_CHARACTER

    return re.compile(CJK_CHARACTER)


class BigramCounter:
    """Counts the bigrams of neighbouring single-character CJK pre-tokens in the texts it watches."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.normalizer = tokenizer.normalizer
        self.pre_tokenizer = tokenizer.pre_tokenizer
        self.is_cjk = _cjk_character_pattern().fullmatch
        self.counts: Counter[str] = Counter()

    def watch(self, batches: Iterable[list[str]]) -> Iterator[list[str]]:
        """Yield `batches` unchanged, counting the bigrams of each batch on the way."""
        for batch in batches:
            for text in batch:
                if _MAYBE_CJK.search(text):
                    self.count(text)
            yield batch

    def count(self, text: str) -> None:
        normalized = self.normalizer.normalize_str(text) if self.normalizer is not None else text
        tokens = [token for token, _ in self.pre_tokenizer.pre_tokenize_str(normalized)]
        self.counts.update(left + right for left, right in neighbours(tokens, self.is_cjk))


def neighbours(tokens: Sequence[str], is_cjk: Callable[[str], object] | None = None) -> list[tuple[str, str]]:
    """The pairs of neighbouring pre-tokens that are both one CJK character: where bigrams go."""
    is_cjk = is_cjk or _cjk_character_pattern().fullmatch
    return [(left, right) for left, right in itertools.pairwise(tokens) if is_cjk(left) and is_cjk(right)]


def add_bigrams(
    tokenizer: Tokenizer, counts: Counter[str], *, min_freq: int = 1, max_bigrams: int | None = None
) -> None:
    """Append the marker and the bigrams seen at least `min_freq` times (at most `max_bigrams` of the
    most frequent, ties in code-point order) to a trained WordLevel tokenizer's vocabulary.

    Bigrams whose characters did not both make it into the vocabulary are left out (their
    characters become `[UNK]`, so they can never be looked up). Nothing is added when no bigram
    qualifies, so a tokenizer trained on text without CJK characters stays as it was.
    """
    from textcnn.tokenization import UNK_TOKEN

    vocab = tokenizer.get_vocab(with_added_tokens=False)
    kept = sorted(
        (
            (-count, bigram)
            for bigram, count in counts.items()
            if count >= min_freq and bigram[0] in vocab and bigram[1] in vocab
        ),
    )
    if max_bigrams is not None:
        kept = kept[:max_bigrams]
    if not kept:
        return
    size = max(vocab.values()) + 1
    vocab[CJK_BIGRAMS_MARKER] = size
    for offset, (_, bigram) in enumerate(kept, start=1):
        vocab[bigram] = size + offset
    tokenizer.model = models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN)


class BigramTable:
    """Looks up the bigram token of each pair of neighbouring CJK character ids."""

    def __init__(self, tokenizer: Tokenizer, unk_id: int) -> None:
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        is_cjk = _cjk_character_pattern().fullmatch
        self.size = max(vocab.values()) + 1
        self.is_character = np.zeros(self.size, dtype=bool)
        for token, index in vocab.items():
            if len(token) == 1 and is_cjk(token):
                self.is_character[index] = True
        pairs = {
            int(vocab[token[0]]) * self.size + int(vocab[token[1]]): index
            for token, index in vocab.items()
            if len(token) == 2 and is_cjk(token[0]) and is_cjk(token[1]) and token[0] in vocab and token[1] in vocab
        }
        order = sorted(pairs)
        self.keys = np.asarray(order, dtype=np.int64)
        self.values = np.asarray([pairs[key] for key in order], dtype=np.int64)
        self.unk_id = unk_id

    def insert(self, ids: Sequence[int]) -> list[int]:
        """`ids` with the bigram of each pair of neighbouring CJK characters between them."""
        if len(ids) < 2:
            return list(ids)
        array = np.asarray(ids, dtype=np.int64)
        character = self.is_character[array]
        starts = np.flatnonzero(character[:-1] & character[1:])
        if starts.size == 0:
            return list(ids)
        keys = array[starts] * self.size + array[starts + 1]
        found = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        bigrams = np.full(keys.shape, self.unk_id, dtype=np.int64)
        if len(self.keys):
            hit = self.keys[found] == keys
            bigrams[hit] = self.values[found[hit]]
        return np.insert(array, starts + 1, bigrams).tolist()


_TABLES: dict[int, tuple[Tokenizer, int, BigramTable]] = {}
_TABLE_CACHE_SIZE = 8


def bigram_table(tokenizer: Tokenizer) -> BigramTable | None:
    """The tokenizer's bigram table, or None when it has no `CJK_BIGRAMS_MARKER`.

    Tables are cached per tokenizer object (the cache holds the tokenizer, so its id stays its
    own), as an input is encoded a chunk at a time.
    """
    from textcnn.tokenization import UNK_TOKEN

    if tokenizer.token_to_id(CJK_BIGRAMS_MARKER) is None:
        return None
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    cached = _TABLES.get(id(tokenizer))
    if cached is not None and cached[0] is tokenizer and cached[1] == size:
        return cached[2]
    unk_id = tokenizer.token_to_id(UNK_TOKEN)
    table = BigramTable(tokenizer, unk_id if unk_id is not None else 0)
    if len(_TABLES) >= _TABLE_CACHE_SIZE:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[id(tokenizer)] = (tokenizer, size, table)
    return table
