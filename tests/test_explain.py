"""Exact explanations: n-gram contributions plus the bias equal the model's logit, and they find the evidence."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from conftest import FILLER, TOPICS, make_corpus

from textcnn import TextCNNClassifier
from textcnn.batching import pad_batch
from textcnn.config import ModelConfig
from textcnn.errors import TextCNNError
from textcnn.explanation import GAP, explain_texts
from textcnn.model import TextCNN
from textcnn.tokenization import encode_batch, train_tokenizer

TINY = {"embedding_dim": 8, "num_filters": 6, "batch_size": 16, "lr": 1e-2, "refit": False, "device": "cpu"}


def model_logits(clf: TextCNNClassifier, texts: list[str]) -> np.ndarray:
    """The network's own logits in eval mode, one text at a time (no batch padding), from predict's ids."""
    model, config = clf.model_, clf.model_.config
    model.eval()
    rows = []
    with torch.no_grad():
        for ids in encode_batch(clf.tokenizer_, texts, config.max_length, config.truncation):
            rows.append(model(pad_batch([ids], config.pad_id, model.min_length))[0].numpy())
    return np.stack(rows)


def write_word2vec_text(path, words: list[str], dim: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lines = [f"{len(words)} {dim}"]
    lines += [word + " " + " ".join(f"{v:.5f}" for v in rng.normal(0, 0.3, dim)) for word in words]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


EDGE_TEXTS = [
    "",
    "goal",
    "pasta garlic",
    # longer than max_length: truncated as the config says
    " ".join(random.Random(3).choices(FILLER, k=40)) + " robot " + " ".join(random.Random(4).choices(FILLER, k=30)),
]


@pytest.mark.parametrize("pooling", ["max", "max+mean"])
@pytest.mark.parametrize("mode", ["rand", "multichannel"])
@pytest.mark.parametrize("wide", [True, False])
def test_contributions_plus_bias_equal_the_logit(pooling, mode, wide, corpus, test_corpus, tmp_path) -> None:
    texts, labels = corpus
    extra = {}
    if mode == "multichannel":
        words = sorted({*FILLER, *(w for topic in TOPICS.values() for w in topic)})
        write_word2vec_text(tmp_path / "vectors.txt", words, TINY["embedding_dim"])
        extra = {"vectors": str(tmp_path / "vectors.txt"), "embedding_mode": "multichannel"}
    truncation = {("max", True): "head", ("max", False): "tail"}.get((pooling, wide), "head+tail")
    clf = TextCNNClassifier(
        **TINY,
        **extra,
        epochs=2,
        kernel_sizes=(1, 3, 5),
        pooling=pooling,
        wide_convolution=wide,
        max_length=12,
        truncation=truncation,
    ).fit(texts[:120], labels[:120])
    assert clf.model_.config.embedding_mode == mode
    shown = test_corpus[0][:40] + EDGE_TEXTS
    logits = model_logits(clf, shown)
    explanations = clf.explain(shown, top=None)
    classes = list(clf.classes_)
    worst = 0.0
    for row, e in zip(logits, explanations, strict=True):
        c, c2 = classes.index(e.label), classes.index(e.runner_up)
        assert e.label == e.predicted == classes[int(row.argmax())]
        assert c2 != c and row[c2] == max(row[i] for i in range(len(classes)) if i != c)
        assert e.logit.rest == 0.0 and e.margin.rest == 0.0  # top=None lists every n-gram
        total = e.logit.bias + sum(n.score for n in e.logit.ngrams)
        margin = e.margin.bias + sum(n.score for n in e.margin.ngrams)
        worst = max(worst, abs(total - row[c]), abs(e.logit.value - row[c]), abs(margin - (row[c] - row[c2])))
        # every n-gram is listed once, largest first
        spans = [(n.start, n.end) for n in e.logit.ngrams]
        assert len(spans) == len(set(spans))
        magnitudes = [abs(n.score) for n in e.logit.ngrams]
        assert magnitudes == sorted(magnitudes, reverse=True)
    assert worst < 1e-4, worst
    # With a `top`, the listed n-grams, the rest and the bias still add up to the logit.
    for e in clf.explain(shown, top=2):
        assert len(e.logit.ngrams) <= 2
        assert abs(e.logit.bias + sum(n.score for n in e.logit.ngrams) + e.logit.rest - e.logit.value) < 1e-4


def test_max_pooled_feature_goes_to_its_argmax_window(fitted) -> None:
    """One filter, one class: the whole contribution lands on the window with the highest activation."""
    model, config = fitted.model_, fitted.model_.config
    text = "the striker scored a goal for the league"
    ids = encode_batch(fitted.tokenizer_, [text], config.max_length, config.truncation)[0]
    with torch.no_grad():
        activations, _ = model.window_activations(pad_batch([ids], config.pad_id, model.min_length))[0]
    saved = model.classifier.weight.detach().clone(), model.classifier.bias.detach().clone()
    try:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.zero_()
            model.classifier.weight[0, 0] = 1.0  # class 0 reads the first filter of the first width only
        e = explain_texts(model, fitted.tokenizer_, fitted.classes_, [text], top=None, label=fitted.classes_[0])[0]
    finally:
        with torch.no_grad():
            model.classifier.weight.copy_(saved[0])
            model.classifier.bias.copy_(saved[1])
    window = int(activations[0, 0].argmax())
    edge, width = model.edge_padding(0), config.kernel_sizes[0]
    expected = (max(window - edge, 0), min(window - edge + width, len(ids)))
    nonzero = [n for n in e.logit.ngrams if n.score != 0]
    assert len(nonzero) == 1
    assert (nonzero[0].start, nonzero[0].end) == expected
    assert nonzero[0].score == pytest.approx(max(float(activations[0, 0].max()), 0.0), abs=1e-6)


KEYWORDS = {"neg": ["awful", "dreadful"], "neutral": ["average", "okay"], "pos": ["superb", "delight"]}


def keyword_task(n: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """Filler texts whose label is decided by the one keyword each holds."""
    rng = random.Random(seed)
    texts, labels, keywords = [], [], []
    for i in range(n):
        label = sorted(KEYWORDS)[i % len(KEYWORDS)]
        words = rng.choices(FILLER, k=rng.randint(5, 15))
        keyword = rng.choice(KEYWORDS[label])
        words.insert(rng.randint(0, len(words)), keyword)
        texts.append(" ".join(words))
        labels.append(label)
        keywords.append(keyword)
    return texts, labels, keywords


def test_the_deciding_keyword_is_the_top_contributor() -> None:
    texts, labels, _ = keyword_task(150, seed=1)
    clf = TextCNNClassifier(**{**TINY, "embedding_dim": 16, "num_filters": 8}, epochs=6, patience=6).fit(texts, labels)
    test_texts, test_labels, keywords = keyword_task(100, seed=2)
    explanations = clf.explain(test_texts, top=3)
    logit_hits = margin_hits = 0
    for e, keyword in zip(explanations, keywords, strict=True):
        top_logit, top_margin = e.logit.ngrams[0], e.margin.ngrams[0]
        logit_hits += keyword in top_logit.text.split() and top_logit.score > 0
        margin_hits += keyword in top_margin.text.split() and top_margin.score > 0
    assert logit_hits >= 95 and margin_hits >= 95, (logit_hits, margin_hits)
    assert np.mean(np.array([e.predicted for e in explanations]) == np.array(test_labels)) >= 0.95


def untrained(max_length: int, truncation: str, words: list[str]):
    tokenizer = train_tokenizer(words)
    config = ModelConfig(
        vocab_size=tokenizer.get_vocab_size(),
        num_classes=2,
        embedding_dim=4,
        kernel_sizes=(2,),
        num_filters=3,
        max_length=max_length,
        truncation=truncation,
    )
    return TextCNN(config), tokenizer


@pytest.mark.parametrize(
    ("truncation", "kept"),
    [("head", list(range(8))), ("tail", list(range(992, 1000))), ("head+tail", [0, 1, *range(994, 1000)])],
)
def test_truncated_text_maps_kept_tokens_back_to_the_input(truncation, kept) -> None:
    """1,000 words, 8 kept: offsets point into the input even where `clip_text` cut it before tokenising."""
    words = [f"w{i}" for i in range(1000)]
    text = "  ".join(words) + " "
    model, tokenizer = untrained(8, truncation, words)
    e = explain_texts(model, tokenizer, ["a", "b"], [text], top=None)[0]
    assert [t.text for t in e.tokens] == [words[i] for i in kept]
    assert all(text[t.char_start : t.char_end] == t.text for t in e.tokens)
    assert e.truncated
    segments = e.segments()
    assert "".join(s.text for s in segments) == text
    unseen = {word for s in segments if s.kind == "dropped" for word in s.text.split()}
    assert unseen == set(words) - {words[i] for i in kept}  # the clipped-off words too, never tokenised
    texts = {n.text for n in e.logit.ngrams}
    if truncation == "head+tail":  # the width-2 window across the gap joins both sides
        assert f"w1{GAP}w994" in texts
    else:
        first = words[kept[0]]
        assert f"{first}  {words[kept[1]]}" in texts  # as written in the input, double space included
    assert [s.text for s in segments if s.kind == "token"] == [words[i] for i in kept]


def test_offsets_follow_the_original_text_through_normalisation() -> None:
    model, tokenizer = untrained(16, "head", ["cafe", "ﬁne", "fine", "café", "WORLD", "world"])
    text = "Ｃafé  ﬁne, WORLD!"
    e = explain_texts(model, tokenizer, [0, 1], [text], top=None)[0]
    assert [t.text for t in e.tokens] == ["Ｃafé", "ﬁne", ",", "WORLD", "!"]
    assert "".join(s.text for s in e.segments()) == text
    widest = max(e.logit.ngrams, key=lambda n: n.end - n.start)
    assert widest.text == text[widest.char_start : widest.char_end]


def test_label_picks_the_explained_class_and_bad_arguments_name_the_parameter(fitted) -> None:
    text = "the chef baked a spicy dessert"
    predicted = fitted.predict([text])[0]
    other = next(c for c in fitted.classes_ if c != predicted)
    e = fitted.explain([text], label=other)[0]
    assert e.label == other and e.predicted == predicted
    assert e.margin.value < 0  # the explained class loses to the runner-up, which is the predicted one
    assert e.runner_up == predicted
    assert e.probability == pytest.approx(float(fitted.predict_proba([text])[0][list(fitted.classes_).index(other)]))
    with pytest.raises(TextCNNError, match="label='nope'"):
        fitted.explain([text], label="nope")
    with pytest.raises(TextCNNError, match="top must be"):
        fitted.explain([text], top=0)
    with pytest.raises(TextCNNError, match="single string"):
        fitted.explain(text)


def test_explanations_do_not_depend_on_the_batch(fitted) -> None:
    texts = make_corpus(30, seed=5)[0]
    together = fitted.explain(texts, top=5)
    alone = [fitted.explain([t], top=5)[0] for t in texts[:6]]
    for a, b in zip(together, alone, strict=False):
        assert [(n.start, n.end) for n in a.logit.ngrams] == [(n.start, n.end) for n in b.logit.ngrams]
        assert a.logit.value == pytest.approx(b.logit.value, abs=1e-5)
