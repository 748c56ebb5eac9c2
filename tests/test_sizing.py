"""The "auto" token budget and filter count: Kim's sizes for sentences, larger ones for documents."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SMALL, make_corpus, make_documents

from textcnn import TextCNNClassifier
from textcnn.cli.main import cli
from textcnn.errors import TextCNNError
from textcnn.sizing import (
    AUTO,
    DOCUMENT_MAX_LENGTH,
    DOCUMENT_MEDIAN_TOKENS,
    DOCUMENT_NUM_FILTERS,
    SENTENCE_MAX_LENGTH,
    SENTENCE_NUM_FILTERS,
    median_token_count,
    resolve_sizing,
    sample_positions,
)
from textcnn.tokenization import encode_batch, train_tokenizer

#: SMALL without its filter count, which these tests leave to "auto".
FAST = {key: value for key, value in SMALL.items() if key != "num_filters"} | {"epochs": 2, "embedding_dim": 8}


@pytest.mark.parametrize(
    ("median", "expected"),
    [
        (DOCUMENT_MEDIAN_TOKENS - 1, (SENTENCE_MAX_LENGTH, SENTENCE_NUM_FILTERS)),
        (DOCUMENT_MEDIAN_TOKENS, (DOCUMENT_MAX_LENGTH, DOCUMENT_NUM_FILTERS)),
    ],
)
def test_auto_sizes_switch_at_the_document_median(median: float, expected: tuple[int, int]) -> None:
    sizing = resolve_sizing(AUTO, AUTO, median)
    assert (sizing.max_length, sizing.num_filters) == expected
    assert sizing.median_tokens == median


def test_a_given_size_is_kept_and_only_the_other_is_decided() -> None:
    long_texts = resolve_sizing(AUTO, 7, 1000.0)
    assert (long_texts.max_length, long_texts.num_filters) == (DOCUMENT_MAX_LENGTH, 7)
    short_texts = resolve_sizing(64, AUTO, 5.0)
    assert (short_texts.max_length, short_texts.num_filters) == (64, SENTENCE_NUM_FILTERS)
    fixed = resolve_sizing(64, 7, None)
    assert (fixed.max_length, fixed.num_filters, fixed.median_tokens) == (64, 7, None)
    with pytest.raises(ValueError, match="median"):
        resolve_sizing(AUTO, 7, None)


def test_median_counts_every_cjk_character_and_bigram_as_a_token() -> None:
    texts = ["今天天气很好", "a b c", "one, two"]  # 6 characters; 3 words; 2 words and a comma
    assert median_token_count(texts) == 3.0
    assert median_token_count(["今天天气很好", "今天天气很好", "a"]) == 6.0 + 5.0  # 6 characters, 5 bigrams
    assert median_token_count([]) == 0.0
    assert median_token_count([None, None, "x y"]) == 0.0


def test_median_uses_a_given_tokenizer_and_agrees_with_the_trained_one() -> None:
    texts = ["The cat sat.", "Dogs run fast, very fast!", "一个中文句子", "x"]
    tokenizer = train_tokenizer(texts)
    expected = sorted(len(ids) for ids in encode_batch(tokenizer, texts, max_length=1000))
    assert median_token_count(texts, tokenizer) == (expected[1] + expected[2]) / 2
    assert median_token_count(texts) == median_token_count(texts, tokenizer)


def test_median_of_a_huge_line_is_bounded() -> None:
    counted = median_token_count(["word " * 2_000_000])
    assert DOCUMENT_MAX_LENGTH <= counted < 2 * DOCUMENT_MAX_LENGTH * 32


def test_sample_positions_spread_over_the_whole_range() -> None:
    assert list(sample_positions(5, size=10)) == [0, 1, 2, 3, 4]
    positions = sample_positions(10_000, size=100)
    assert len(positions) == 100
    assert positions[0] == 0 and positions[-1] == 9_999
    assert (np.diff(positions) > 0).all()


def test_fit_sizes_a_model_for_documents_and_for_sentences() -> None:
    documents, document_labels = make_documents(30, words_per_text=DOCUMENT_MEDIAN_TOKENS + 20)
    on_documents = TextCNNClassifier(**FAST).fit(documents, document_labels)
    assert on_documents.median_tokens_ == DOCUMENT_MEDIAN_TOKENS + 20
    config = on_documents.model_.config
    assert (config.max_length, config.num_filters) == (DOCUMENT_MAX_LENGTH, DOCUMENT_NUM_FILTERS)
    assert on_documents.get_params()["num_filters"] == AUTO  # the estimator's parameter is untouched

    sentences, sentence_labels = make_corpus(60)
    on_sentences = TextCNNClassifier(**FAST).fit(sentences, sentence_labels)
    config = on_sentences.model_.config
    assert (config.max_length, config.num_filters) == (SENTENCE_MAX_LENGTH, SENTENCE_NUM_FILTERS)


def test_the_resolved_sizes_are_saved_and_reloaded(tmp_path) -> None:
    documents, labels = make_documents(30, words_per_text=DOCUMENT_MEDIAN_TOKENS * 2)
    model = TextCNNClassifier(**FAST, max_length=300).fit(documents, labels)
    model.save(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    saved = saved.get("model", saved)
    assert (saved["max_length"], saved["num_filters"]) == (300, DOCUMENT_NUM_FILTERS)
    loaded = TextCNNClassifier.load(tmp_path / "model", device="cpu")
    assert (loaded.get_params()["max_length"], loaded.get_params()["num_filters"]) == (300, DOCUMENT_NUM_FILTERS)
    assert (loaded.predict_proba(documents) == model.predict_proba(documents)).all()


@pytest.mark.parametrize("value", ["big", 0, 2.5, True])
def test_a_bad_size_is_a_plain_error(value: object) -> None:
    texts, labels = make_corpus(30)
    with pytest.raises(TextCNNError, match="max_length must be an integer >= 1 or 'auto'"):
        TextCNNClassifier(**FAST, max_length=value).fit(texts, labels)


def test_cli_accepts_auto_and_reports_the_decision(tmp_path, caplog) -> None:
    documents, labels = make_documents(30, words_per_text=DOCUMENT_MEDIAN_TOKENS + 10)
    (tmp_path / "docs.csv").write_text(
        "text,label\n" + "".join(f"{text},{label}\n" for text, label in zip(documents, labels, strict=True))
    )
    options = ["--embedding-dim", "8", "--epochs", "1", "--device", "cpu", "--batch-size", "16"]
    with caplog.at_level(logging.INFO, logger="textcnn.classifier"):
        result = CliRunner().invoke(
            cli,
            ["train", str(tmp_path / "docs.csv"), "--out", str(tmp_path / "m"), "--max-length", "auto", *options],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert f"median training text: {DOCUMENT_MEDIAN_TOKENS + 10} tokens (documents)" in caplog.text
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    saved = saved.get("model", saved)
    assert (saved["max_length"], saved["num_filters"]) == (DOCUMENT_MAX_LENGTH, DOCUMENT_NUM_FILTERS)
