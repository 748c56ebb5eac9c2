"""Tokenizer training, CJK, Thai and emoji handling, truncation, save/load."""

from __future__ import annotations

import random

import pytest
from conftest import SMALL

from textcnn.errors import TextCNNError
from textcnn.tokenization import (
    PAD_ID,
    PAD_TOKEN,
    UNK_ID,
    UNK_TOKEN,
    build_normalizer,
    build_pre_tokenizer,
    encode_batch,
    load_tokenizer,
    train_tokenizer,
)


def test_special_tokens_come_first_and_unknown_words_map_to_unk() -> None:
    tokenizer = train_tokenizer(["the cat sat", "the dog ran"])
    assert tokenizer.token_to_id(PAD_TOKEN) == PAD_ID
    assert tokenizer.token_to_id(UNK_TOKEN) == UNK_ID
    [ids] = encode_batch(tokenizer, ["the zebra"], max_length=10)
    assert ids[0] == tokenizer.token_to_id("the")
    assert ids[1] == UNK_ID


def test_normalisation_lowercases_and_splits_punctuation() -> None:
    tokenizer = train_tokenizer(["Hello, World!"])
    [ids] = encode_batch(tokenizer, ["HELLO world"], max_length=10)
    assert ids == [tokenizer.token_to_id("hello"), tokenizer.token_to_id("world")]
    assert tokenizer.token_to_id(",") is not None


def test_cjk_text_is_split_into_characters_not_one_token_per_sentence() -> None:
    texts = ["我喜欢这部电影", "日本語のテキストです"]
    tokenizer = train_tokenizer(texts)
    ids = encode_batch(tokenizer, texts, max_length=50)
    assert [len(x) for x in ids] == [7 + 6, 10 + 9]  # each character, and a bigram between each two
    assert UNK_ID not in ids[0]


def pre_tokens(text: str) -> list[str]:
    return [token for token, _ in build_pre_tokenizer().pre_tokenize_str(build_normalizer().normalize_str(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ไม่ชอบเลย๒๕๖๗", ["ไ", "ม่", "ช", "อ", "บ", "เ", "ล", "ย", "๒๕๖๗"]),  # Thai: marks stay on their letter
        ("ສະບາຍດີ", ["ສ", "ະ", "ບ", "າ", "ຍ", "ດີ"]),  # Lao
        ("ខ្ញុំស្រលាញ់", ["ខ្ញុំ", "ស្រ", "លា", "ញ់"]),  # Khmer: coeng keeps its subscript consonant
        ("မင်္ဂလာပါ၁၂", ["မ", "င်္ဂ", "လာ", "ပါ", "၁၂"]),  # Myanmar
        (
            "\u1a20\u1a60\u1a3e\u1a63\u1a36\u1a6e\u1a90\u1a91",
            ["\u1a20\u1a60\u1a3e\u1a63", "\u1a36\u1a6e", "\u1a90\u1a91"],
        ),  # Tai Tham: sakot stacks
        ("\ua98f\ua9b6\ua9a4\ua9c0\ua9a5\ua9d1", ["\ua98f\ua9b6", "\ua9a4\ua9c0\ua9a5", "\ua9d1"]),  # Javanese: pangkon
        ("\u1b13\u1b36\u1b2b\u1b44\u1b32", ["\u1b13\u1b36", "\u1b2b\u1b44\u1b32"]),  # Balinese: adeg-adeg
        ("\u1991\u19b1\u1998\u19b2", ["\u1991", "\u19b1", "\u1998", "\u19b2"]),  # New Tai Lue (vowels are letters)
    ],
)
def test_scripts_written_without_spaces_are_split_into_letters(text: str, expected: list[str]) -> None:
    assert pre_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),  # Indic scripts use spaces: words stay whole
        ("안녕하세요 세계", ["안녕하세요", "세계"]),
        ("བཀྲ་ཤིས།", ["བཀྲ", "་", "ཤིས", "།"]),  # Tibetan: the tsheg separates syllables
    ],
)
def test_scripts_with_word_separators_keep_their_words(text: str, expected: list[str]) -> None:
    assert pre_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("great!😀", ["great", "!", "😀"]),
        ("great 😀", ["great", "😀"]),
        ("wow!! 😀😀", ["wow", "!!", "😀", "😀"]),
        ("❤️!", ["❤️", "!"]),  # the variation selector stays with its emoji
        ("👍🏽ok", ["👍🏽", "ok"]),
        ("👨\u200d👩\u200d👧.", ["👨\u200d👩\u200d👧", "."]),
        ("🇹🇭🇯🇵", ["🇹🇭", "🇯🇵"]),
        ("★★★,", ["★", "★", "★", ","]),
        ("#\ufe0f\u20e3 1\ufe0f\u20e3x 42", ["#\ufe0f\u20e3", "1\ufe0f\u20e3", "x", "42"]),  # keycaps; numbers whole
    ],
)
def test_each_emoji_is_a_token_of_its_own(text: str, expected: list[str]) -> None:
    assert pre_tokens(text) == expected


def old_pre_tokenizer():
    """The pre-tokenizer of textcnn's tokenizers before Thai and emoji were split."""
    from tokenizers import Regex, pre_tokenizers

    from textcnn.tokenization import CJK_CHARACTER

    return pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(CJK_CHARACTER), behavior="isolated"), pre_tokenizers.Whitespace()]
    )


def test_text_without_the_new_units_is_split_exactly_as_before() -> None:
    alphabet = list("abz XY,.!?-'\"_\t\n09éüßñ\u0301\u200d\u00a0\u3000") + list("我はカ漢。、бجह्한ꙮ²ǅ")
    rng = random.Random(0)
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 24))) for _ in range(3000)]
    old, new, normalizer = old_pre_tokenizer(), build_pre_tokenizer(), build_normalizer()
    for text in map(normalizer.normalize_str, texts):
        assert new.pre_tokenize_str(text) == old.pre_tokenize_str(text), text


def test_a_tokenizer_saved_with_the_old_rule_keeps_it(tmp_path) -> None:
    tokenizer = train_tokenizer(["สนุกมาก!😀 ok"])
    tokenizer.pre_tokenizer = old_pre_tokenizer()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert [token for token, _ in loaded.pre_tokenizer.pre_tokenize_str("สนุกมาก!😀")] == ["สนุกมาก", "!😀"]


def thai_reviews(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Thai sentences without spaces; one cue word among filler words says the class."""
    filler = ["หนัง", "เรื่อง", "นี้", "นักแสดง", "ผู้กำกับ", "ดนตรี", "จริงๆ", "ฉัน", "คิดว่า", "วันนี้"]
    cues = {"pos": ["สนุก", "ชอบ", "ประทับใจ"], "neg": ["น่าเบื่อ", "แย่", "ผิดหวัง"]}
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = ["neg", "pos"][i % 2]
        words = rng.choices(filler, k=rng.randint(4, 10))
        words.insert(rng.randint(0, len(words)), rng.choice(cues[label]))
        texts.append("".join(words))
        labels.append(label)
    return texts, labels


def test_a_thai_model_learns_from_sentences_without_spaces() -> None:
    from textcnn import TextCNNClassifier

    texts, labels = thai_reviews(160, seed=0)
    new_texts, new_labels = thai_reviews(60, seed=1)
    assert len(encode_batch(train_tokenizer(texts), new_texts[:1], max_length=100)[0]) > 10
    model = TextCNNClassifier(**{**SMALL, "epochs": 6}).fit(texts, labels)
    assert model.score(new_texts, new_labels) >= 0.9


def test_min_freq_and_max_vocab_limit_the_vocabulary() -> None:
    texts = ["a a a b b c"]
    assert train_tokenizer(texts, min_freq=2).get_vocab_size() == 4  # pad, unk, a, b
    assert train_tokenizer(texts, max_vocab=3).get_vocab_size() == 3


def test_texts_are_truncated_to_max_length_even_when_huge() -> None:
    tokenizer = train_tokenizer(["word"])
    [ids] = encode_batch(tokenizer, ["word " * 1_000_000], max_length=7)
    assert ids == [tokenizer.token_to_id("word")] * 7


def test_missing_text_encodes_as_empty() -> None:
    tokenizer = train_tokenizer(["word"])
    assert encode_batch(tokenizer, [None, ""], max_length=5) == [[], []]


def test_saved_tokenizer_loads_and_encodes_identically(tmp_path) -> None:
    texts = ["Some text, with punctuation!", "和一些中文"]
    tokenizer = train_tokenizer(texts)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert encode_batch(loaded, texts, 20) == encode_batch(tokenizer, texts, 20)


def test_loading_a_corrupt_tokenizer_names_the_file(tmp_path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text("{not json")
    with pytest.raises(TextCNNError, match="tokenizer.json"):
        load_tokenizer(path)


def test_a_tokenizer_without_its_unknown_token_is_refused(tmp_path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel(vocab={PAD_TOKEN: 0, "good": 1}, unk_token=UNK_TOKEN))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(TextCNNError, match=r"names \[UNK\] as its unknown token but has no such token"):
        load_tokenizer(tmp_path / "tokenizer.json")


def test_encoding_in_chunks_matches_one_text_at_a_time() -> None:
    from textcnn.tokenization import ENCODE_CHUNK

    texts = [f"word{i % 7} other{i % 3}" if i % 5 else None for i in range(ENCODE_CHUNK * 2 + 3)]
    tokenizer = train_tokenizer([t for t in texts if t])
    together = encode_batch(tokenizer, texts, max_length=3)
    assert len(together) == len(texts)
    assert together == [encode_batch(tokenizer, [t], max_length=3)[0] for t in texts]


@pytest.mark.parametrize(
    ("truncation", "expected"),
    [
        ("head", ["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]),
        ("tail", ["w12", "w13", "w14", "w15", "w16", "w17", "w18", "w19"]),
        ("head+tail", ["w0", "w1", "w14", "w15", "w16", "w17", "w18", "w19"]),
    ],
)
def test_truncation_keeps_the_head_the_tail_or_both(truncation: str, expected: list[str]) -> None:
    words = [f"w{i}" for i in range(20)]
    tokenizer = train_tokenizer([" ".join(words)])
    [ids] = encode_batch(tokenizer, [" ".join(words)], max_length=8, truncation=truncation)
    assert [tokenizer.id_to_token(i) for i in ids] == expected
    [short] = encode_batch(tokenizer, ["w3 w4"], max_length=8, truncation=truncation)
    assert len(short) == 2  # texts within the budget are kept whole


@pytest.mark.parametrize("truncation", ["tail", "head+tail"])
def test_huge_texts_keep_their_last_words_without_tokenising_everything(truncation: str) -> None:
    tokenizer = train_tokenizer(["start filler end"])
    text = "start " + "filler " * 1_000_000 + "end"
    [ids] = encode_batch(tokenizer, [text], max_length=8, truncation=truncation)
    assert len(ids) == 8
    assert tokenizer.id_to_token(ids[-1]) == "end"
    assert (tokenizer.id_to_token(ids[0]) == "start") == (truncation == "head+tail")


def test_vocabulary_counts_only_the_kept_part_of_huge_texts() -> None:
    text = "first " + "filler " * 100_000 + "last"
    head_vocab = train_tokenizer([text], max_length=4, truncation="head").get_vocab()
    both_vocab = train_tokenizer([text], max_length=4, truncation="head+tail").get_vocab()
    assert "first" in head_vocab and "last" not in head_vocab
    assert "first" in both_vocab and "last" in both_vocab


def test_an_unknown_truncation_is_refused() -> None:
    tokenizer = train_tokenizer(["a b c"])
    with pytest.raises(ValueError, match="truncation"):
        encode_batch(tokenizer, ["a b c"], max_length=2, truncation="middle")
