"""CJK character bigrams: learned two-character words, Japanese mixed scripts, nothing else changed."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from conftest import SMALL
from tokenizers import Tokenizer

from textcnn import TextCNNClassifier
from textcnn.cjk import CJK_BIGRAMS_MARKER
from textcnn.sizing import median_token_count
from textcnn.tokenization import UNK_ID, UNK_TOKEN, encode_batch, load_tokenizer, train_tokenizer

FILLER = "的一是不了人我在有他这为之大来以个中上们到说时地也子就道而要于下"
FIRST, SECOND = "电", "影"  # the word 电影 decides the label; its characters alone do not


def tokens(tokenizer: Tokenizer, text: str, max_length: int = 100) -> list[str]:
    [ids] = encode_batch(tokenizer, [text], max_length)
    return [tokenizer.id_to_token(i) for i in ids]


def word_or_split(rng: random.Random, positive: bool) -> str:
    """Filler characters with 电 and 影 in them once each: side by side (the word) when positive,
    apart in either order otherwise, so that both classes hold the same characters."""
    chars = [rng.choice(FILLER) for _ in range(rng.randint(6, 12))]
    if positive:
        at = rng.randint(0, len(chars))
        chars[at:at] = [FIRST, SECOND]
    else:
        first, second = sorted(rng.sample(range(len(chars) + 1), 2))
        pair = [FIRST, SECOND] if rng.random() < 0.5 else [SECOND, FIRST]
        chars.insert(second, pair[1])
        chars.insert(first, pair[0])
        if second == first + 1:  # the two would touch: push one filler character between them
            chars.insert(first + 1, rng.choice(FILLER))
    return "".join(chars)


def generated(count: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    labels = [rng.choice(["pos", "neg"]) for _ in range(count)]
    return [word_or_split(rng, label == "pos") for label in labels], labels


def test_generated_data_decides_by_the_word_alone() -> None:
    texts, labels = generated(400, seed=1)
    for text, label in zip(texts, labels, strict=True):
        assert text.count(FIRST) == text.count(SECOND) == 1
        assert ((FIRST + SECOND) in text) == (label == "pos")
        assert (SECOND + FIRST) not in text


def test_a_label_decided_by_a_two_character_word_is_learned() -> None:
    train_texts, train_labels = generated(300, seed=2)
    test_texts, test_labels = generated(300, seed=3)
    classifier = TextCNNClassifier(**{**SMALL, "epochs": 8}, refit=False, seed=0).fit(train_texts, train_labels)
    assert FIRST + SECOND in classifier.tokenizer_.get_vocab()
    accuracy = float(np.mean(classifier.predict(test_texts) == np.asarray(test_labels)))
    assert accuracy >= 0.95


def test_each_pair_of_neighbouring_characters_gets_its_bigram_between_them() -> None:
    tokenizer = train_tokenizer(["我喜欢电影", "电影很好", "film ，"])
    assert tokens(tokenizer, "我喜欢电影") == ["我", "我喜", "喜", "喜欢", "欢", "欢电", "电", "电影", "影"]
    # A pair never seen in training is [UNK], so characters and bigrams keep alternating.
    assert tokens(tokenizer, "影我") == ["影", UNK_TOKEN, "我"]
    # Punctuation, Latin words and unknown characters end a run of characters.
    assert tokens(tokenizer, "电影，好 film 很好") == [
        "电",
        "电影",
        "影",
        ",",
        "好",
        "film",
        "很",
        "很好",
        "好",
    ]  # NFKC: ，is ,
    assert tokens(tokenizer, "电龘影") == ["电", UNK_TOKEN, "影"]


def test_japanese_kana_and_kanji_do_not_collapse_into_one_token() -> None:
    sentence = "今日は東京タワーに行きました。とても楽しかったです!"
    tokenizer = train_tokenizer([sentence, "明日は大阪に行きます。"])
    got = tokens(tokenizer, sentence)
    characters = [c for c in sentence if c not in "。!"]
    assert [t for t in got if len(t) == 1 and t not in "。!"] == characters  # every character, in order
    assert "東京" in got and "タワ" in got and "は東" in got  # kanji, katakana and mixed bigrams
    assert max(len(t) for t in got) == 2
    assert len(got) == 2 * len(characters) - 2 + 2  # two runs of characters, plus the two punctuation marks


def test_text_without_cjk_characters_tokenises_byte_identically() -> None:
    english = ["The cat sat on the mat.", "Ça va? Très bien!", "naïve café, 42 times", "don't stop"]
    assert train_tokenizer(english).to_str() == train_tokenizer(english, cjk_bigrams=False).to_str()
    # Beside CJK training texts, Latin text still gets exactly its old tokens and ids.
    mixed = [*english, "我喜欢这部电影", "日本語のテキスト"]
    new, old = train_tokenizer(mixed), train_tokenizer(mixed, cjk_bigrams=False)
    assert new.token_to_id(CJK_BIGRAMS_MARKER) == old.get_vocab_size()  # bigrams come after every old token
    queries = [*english, "unseen words here", "café 42"]
    assert encode_batch(new, queries, 50) == encode_batch(old, queries, 50)


def test_a_tokenizer_without_the_marker_keeps_characters_only(tmp_path: Path) -> None:
    texts = ["我喜欢这部电影", "这部电影很好"]
    old = train_tokenizer(texts, cjk_bigrams=False)  # as every tokenizer saved before bigrams existed
    old.save(str(tmp_path / "old.json"))
    loaded = load_tokenizer(tmp_path / "old.json")
    assert tokens(loaded, "这部电影") == ["这", "部", "电", "影"]
    new = train_tokenizer(texts)
    new.save(str(tmp_path / "new.json"))
    assert tokens(load_tokenizer(tmp_path / "new.json"), "这部电影") == ["这", "这部", "部", "部电", "电", "电影", "影"]


def test_bigrams_obey_min_freq_and_max_vocab() -> None:
    texts = ["电影电影电影", "好人"]  # 电影 x3, 影电 x2, 好人 x1
    vocab = train_tokenizer(texts, min_freq=2).get_vocab()
    assert "电影" in vocab and "影电" in vocab and "好人" not in vocab
    vocab = train_tokenizer(texts, max_vocab=3).get_vocab()
    assert "电影" not in vocab  # [PAD], [UNK] and 电 only: no bigram has both its characters
    # Bigrams have a budget of max_vocab of their own: here 5 of the 6 seen, the most frequent first.
    vocab = train_tokenizer(["一二三一三二一", "一二一二"], max_vocab=5).get_vocab()
    bigrams = [token for token in vocab if len(token) == 2]
    assert len(bigrams) == 5 and "一二" in bigrams and "二一" in bigrams


def test_bigrams_count_against_max_length_and_in_the_median_length() -> None:
    tokenizer = train_tokenizer(["一二三四五"])
    [ids] = encode_batch(tokenizer, ["一二三四五"], max_length=4, truncation="head")
    assert [tokenizer.id_to_token(i) for i in ids] == ["一", "一二", "二", "二三"]
    assert UNK_ID not in ids
    assert median_token_count(["一二三四五"]) == 9.0
    assert median_token_count(["一二三四五"], tokenizer) == 9.0
