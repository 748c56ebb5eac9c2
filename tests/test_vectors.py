"""Pretrained word vectors, Kim's four embedding modes, max-norm, --init-from and `textcnn vectors`."""

from __future__ import annotations

import gzip
import json
import logging
import random
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import SMALL, make_corpus

from textcnn import TextCNNClassifier, TextCNNError
from textcnn.cli.main import cli
from textcnn.config import ModelConfig, TrainConfig
from textcnn.embeddings.transfer import load_vectors_for
from textcnn.embeddings.vectors import detect_format, iter_vectors, load_vectors, write_vectors
from textcnn.model import TextCNN
from textcnn.tokenization import train_tokenizer
from textcnn.training.loop import train_model

DIM = 16
#: Small architecture; embedding_dim comes from the vectors.
FAST = {k: v for k, v in SMALL.items() if k != "embedding_dim"} | {"epochs": 10}


# ----------------------------------------------------------------------------- file formats
FORMATS = [  # (binary, header, gzip, a misleading file name: detection must read the content)
    (True, True, False, "vectors.txt"),
    (True, True, True, "vectors.bin"),
    (False, True, False, "vectors.bin"),
    (False, True, True, "vectors.vec.gz"),
    (False, False, False, "glove.vec"),
    (False, False, True, "glove.txt"),
]


@pytest.fixture(scope="module")
def table() -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(3)
    words = ["the", "Paris", "paris", "Berlin", "cat", "naïve", "東京", "dog"]
    return words, rng.normal(size=(len(words), 7)).astype(np.float32)


@pytest.mark.parametrize(("binary", "header", "compress", "name"), FORMATS)
def test_every_format_loads_the_rows_that_were_written(tmp_path, table, binary, header, compress, name) -> None:
    words, matrix = table
    path = tmp_path / name
    write_vectors(path, words, matrix, binary=binary, header=header, compress=compress)
    if compress:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    fmt = detect_format(path)
    assert (fmt.binary, fmt.compressed, fmt.dim) == (binary, compress, 7)
    assert fmt.count == (len(words) if header else None)

    rows = list(iter_vectors(path))
    assert [w for w, _ in rows] == words
    for (_, vector), expected in zip(rows, matrix, strict=True):
        np.testing.assert_array_equal(vector, expected)  # bit-exact, text included

    vocab = {"[PAD]": 0, "[UNK]": 1, "cat": 2, "東京": 3, "naïve": 4, "missing": 5}
    loaded = load_vectors(path, vocab, vocab_size=6, special_tokens={"[PAD]", "[UNK]"})
    for token, index in vocab.items():
        if token in words:
            np.testing.assert_array_equal(loaded.matrix[index], matrix[words.index(token)])
    assert loaded.rows_read == len(words)
    assert (loaded.found_count, loaded.vocab_count) == (3, 4)


def test_text_quirks_bom_crlf_trailing_spaces_and_words_with_spaces(tmp_path) -> None:
    """fastText writes trailing spaces, Windows tools CRLF and a BOM, GloVe 840B has ". . ." rows."""
    path = tmp_path / "quirks.vec"
    path.write_bytes(b"\xef\xbb\xbf4 3 \r\n. . . 1 2 3 \r\nthe 4 5 6 \r\n. 7 8 9 \r\nat&t 1.5 -2e-1 1E1\r\n")
    fmt = detect_format(path)
    assert (fmt.binary, fmt.count, fmt.dim) == (False, 4, 3)
    loaded = load_vectors(path, {"[PAD]": 0, ".": 1, "the": 2, "at&t": 3}, vocab_size=4, special_tokens={"[PAD]"})
    expected = np.array([[7, 8, 9], [4, 5, 6], [1.5, -0.2, 10]], dtype=np.float32)
    np.testing.assert_array_equal(loaded.matrix[1:], expected)  # "." did not take ". . ."'s row
    assert loaded.found_count == 3


def test_only_wanted_rows_are_decoded(tmp_path, table) -> None:
    words, matrix = table
    path = tmp_path / "v.bin"
    write_vectors(path, words, matrix, binary=True)
    decoded = {w for w, v in iter_vectors(path, wanted={"cat"}) if v is not None}
    assert decoded == {"cat"}


def test_exact_token_first_then_lowercase_then_case_folded(tmp_path) -> None:
    rows = {"Paris": 1.0, "paris": 2.0, "Berlin": 3.0, "BERLIN": 4.0, "Rome": 5.0}
    path = tmp_path / "v.txt"
    write_vectors(path, list(rows), np.array([[v, v] for v in rows.values()]), binary=False)
    vocab = {"[PAD]": 0, "paris": 1, "Paris": 2, "berlin": 3, "ROME": 4}
    loaded = load_vectors(path, vocab, vocab_size=5, special_tokens={"[PAD]"})
    first = loaded.matrix[:, 0]
    assert first[1] == 2.0  # exact "paris" beats the earlier "Paris"
    assert first[2] == 1.0  # exact "Paris"
    assert first[3] == 3.0  # no "berlin": the first case-folded match, "Berlin"
    assert first[4] == 5.0  # "ROME" -> no exact, no "rome", case-folded "Rome"


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_a_vector_with_nan_or_inf_is_refused(tmp_path, binary: bool) -> None:
    """Such a vector would make every loss NaN and the saved model useless."""
    path = tmp_path / ("v.bin" if binary else "v.txt")
    write_vectors(path, ["good", "bad"], np.array([[0.1, 0.2], [np.nan, np.inf]]), binary=binary)
    with pytest.raises(TextCNNError, match="vector for 'bad' holds nan or inf"):
        load_vectors(path, {"[PAD]": 0, "good": 1, "bad": 2}, vocab_size=3, special_tokens={"[PAD]"})


def test_a_header_whose_dimension_disagrees_with_the_rows_says_so(tmp_path) -> None:
    path = tmp_path / "v.txt"
    path.write_text("2 4\ngood 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8\nbad 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8\n")
    with pytest.raises(TextCNNError, match="the header says 4-dimensional vectors but line 2 holds 8 values"):
        detect_format(path)


def test_missing_words_match_the_pretrained_variance_and_pad_is_zero(tmp_path) -> None:
    rng = np.random.default_rng(0)
    known = [f"w{i}" for i in range(400)]
    matrix = rng.normal(scale=0.4, size=(len(known), 50)).astype(np.float32)
    path = tmp_path / "v.txt"
    write_vectors(path, known, matrix, binary=False, header=False)
    vocab = {"[PAD]": 0, "[UNK]": 1} | {w: i + 2 for i, w in enumerate(known[:100])}
    vocab |= {f"oov{i}": 102 + i for i in range(300)}
    loaded = load_vectors(path, vocab, vocab_size=402, pad_id=0, special_tokens={"[PAD]", "[UNK]"}, seed=5)

    assert (loaded.found_count, loaded.vocab_count) == (100, 400)
    assert not loaded.found[0] and not loaded.found[1]
    assert not loaded.matrix[0].any()
    expected_a = np.sqrt(3 * matrix[:100].var(axis=0).mean())
    assert loaded.init_range == pytest.approx(expected_a, rel=1e-5)
    missing = loaded.matrix[102:]
    assert np.abs(missing).max() <= expected_a
    assert missing.var() == pytest.approx(matrix[:100].var(axis=0).mean(), rel=0.05)  # Kim: same variance
    assert np.abs(loaded.matrix[1]).max() <= expected_a and loaded.matrix[1].any()  # [UNK] random too

    # 3 found + 1 missing occurrence + padding that must not count.
    assert loaded.token_coverage([[2, 3, 102, 0, 0], [4]], pad_id=0) == pytest.approx(3 / 4)


def test_unreadable_files_fail_with_one_clear_line(tmp_path, table) -> None:
    words, matrix = table
    truncated = tmp_path / "t.bin"
    write_vectors(truncated, words, matrix, binary=True)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    with pytest.raises(TextCNNError, match="truncated"):
        load_vectors(truncated, {"cat": 0}, vocab_size=1)
    garbage = tmp_path / "g.txt"
    garbage.write_text("hello world\nthis is prose\n")
    with pytest.raises(TextCNNError, match="does not look like a word vectors file"):
        detect_format(garbage)
    unrelated = tmp_path / "u.txt"
    write_vectors(unrelated, words, matrix, binary=False)
    with pytest.raises(TextCNNError, match="none of the 1 vocabulary words"):
        load_vectors(unrelated, {"zebra": 0}, vocab_size=1)
    with pytest.raises(TextCNNError, match="7-dimensional vectors but `embedding_dim` is 300"):
        load_vectors(unrelated, {"cat": 0}, vocab_size=1, expected_dim=300)
    bad_gzip = tmp_path / "b.gz"
    bad_gzip.write_bytes(gzip.compress(b"3 2\ncat 1 2\n")[:-12])
    with pytest.raises(TextCNNError, match="corrupt or truncated"):
        load_vectors(bad_gzip, {"cat": 0}, vocab_size=1)


# ------------------------------------------------------------------- the synonym task (Kim's claim)
def _synonym_task(root):
    """Labels hinge on words from set A in training and on unseen synonyms (set B) in the test.

    Only the vectors know that B words sit next to their class's A words. The vocabulary is built
    from all texts, labels unseen (as Kim did), so B words have ids but no training signal.
    """
    rng = np.random.default_rng(0)
    centers = {"pos": rng.normal(size=DIM), "neg": rng.normal(size=DIM)}
    a_words = {c: [f"{c}a{i}" for i in range(6)] for c in centers}
    b_words = {c: [f"{c}b{i}" for i in range(6)] for c in centers}
    filler = [f"f{i}" for i in range(30)]
    words, vectors = [], []
    for c, center in centers.items():
        for word in a_words[c] + b_words[c]:
            words.append(word)
            vectors.append(center + 0.3 * rng.normal(size=DIM))
    for word in filler:
        words.append(word)
        vectors.append(rng.normal(size=DIM))
    write_vectors(root / "vectors.bin", words, np.array(vectors), binary=True)

    def texts(pool, n, seed):
        r = random.Random(seed)
        out, labels = [], []
        for i in range(n):
            label = ("pos", "neg")[i % 2]
            tokens = r.choices(filler, k=r.randint(5, 10))
            for _ in range(r.randint(1, 2)):
                tokens.insert(r.randint(0, len(tokens)), r.choice(pool[label]))
            out.append(" ".join(tokens))
            labels.append(label)
        return out, labels

    train, test = texts(a_words, 200, 1), texts(b_words, 100, 2)
    train_tokenizer(train[0] + test[0]).save(str(root / "tokenizer.json"))
    return train, test


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("synonyms")
    train, test = _synonym_task(root)
    return root, train, test


@pytest.fixture(scope="module")
def models(task):
    """One fitted model per embedding mode (fitted once, shared by the tests below)."""
    root, (x, y), _ = task
    fitted = {}
    for mode in ("rand", "static", "non-static", "multichannel"):
        kwargs = {"embedding_dim": DIM} if mode == "rand" else {"vectors": str(root / "vectors.bin")}
        fitted[mode] = TextCNNClassifier(
            tokenizer=str(root / "tokenizer.json"), embedding_mode=mode, weight_decay=0.1, **kwargs, **FAST
        ).fit(x, y)
    return fitted


def test_pretrained_vectors_beat_random_embeddings_on_unseen_synonyms(models, task) -> None:
    _, _, (x_test, y_test) = task
    scores = {mode: clf.score(x_test, y_test) for mode, clf in models.items()}
    assert scores["rand"] <= 0.65, scores  # B words are random to CNN-rand: about chance
    assert scores["static"] >= 0.85, scores
    assert scores["static"] - scores["rand"] >= 0.25, scores
    assert scores["non-static"] >= 0.85 and scores["multichannel"] >= 0.85, scores


def _initial_matrix(clf, root) -> torch.Tensor:
    vectors = load_vectors_for(root / "vectors.bin", clf.tokenizer_, embedding_dim=None, seed=clf.seed)
    return torch.from_numpy(vectors.matrix)


def test_frozen_embeddings_stay_frozen_through_training(models, task) -> None:
    root = task[0]
    static, multi, tuned = models["static"], models["multichannel"], models["non-static"]
    initial = _initial_matrix(static, root)
    # Trained with weight decay 0.1: a frozen tensor that reached the optimiser would have shrunk.
    assert torch.equal(static.model_.embedding.weight.detach(), initial)
    assert torch.equal(multi.model_.static_embedding.weight.detach(), initial)
    assert not torch.equal(multi.model_.embedding.weight.detach(), initial)  # the other channel trained
    assert not torch.equal(tuned.model_.embedding.weight.detach(), initial)
    assert static.model_.config.embedding_mode == "static"
    assert static.vectors_coverage_["found"] == static.vectors_coverage_["vocab"] == 54


def test_model_dir_is_self_contained_and_keeps_the_mode(models, task, tmp_path) -> None:
    root, _, (x_test, _) = task
    multi = models["multichannel"]
    multi.save(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["model"]["embedding_mode"] == "multichannel"
    (root / "vectors.bin").rename(root / "moved.bin")  # the vectors are not needed to predict
    try:
        loaded = TextCNNClassifier.load(tmp_path / "model", device="cpu")
    finally:
        (root / "moved.bin").rename(root / "vectors.bin")
    assert loaded.embedding_mode == "multichannel"
    assert loaded.model_.static_embedding is not None
    assert not loaded.model_.static_embedding.weight.requires_grad
    np.testing.assert_allclose(loaded.predict_proba(x_test), multi.predict_proba(x_test), rtol=1e-5, atol=1e-6)


def test_embedding_dim_must_match_the_vectors(task) -> None:
    root, (x, y), _ = task
    with pytest.raises(TextCNNError, match=r"16-dimensional vectors but `embedding_dim` is 300"):
        TextCNNClassifier(vectors=str(root / "vectors.bin"), embedding_dim=300, **FAST).fit(x, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"embedding_mode": "static"}, "needs pretrained vectors"),
        ({"freeze_features": True}, "`freeze_features` requires `init_from`"),
        ({"init_from": "somewhere", "tokenizer": "t.json"}, "not both"),
        ({"vectors": "no/such/file.bin"}, "vectors file not found: no/such/file.bin"),
    ],
)
def test_meaningless_combinations_are_refused(params, message) -> None:
    x, y = make_corpus(30)
    with pytest.raises(TextCNNError, match=message):
        TextCNNClassifier(**params, **FAST).fit(x, y)


def test_coverage_is_logged(task, caplog) -> None:
    root, (x, y), _ = task
    caplog.set_level(logging.INFO, logger="textcnn")
    TextCNNClassifier(vectors=str(root / "vectors.bin"), **FAST | {"epochs": 1}).fit(x[:60], y[:60])
    line = next(r.getMessage() for r in caplog.records if "vocabulary words found" in r.getMessage())
    assert "word2vec binary" in line and "100.0% of training tokens" in line


# ----------------------------------------------------------------------------------- max-norm
@pytest.mark.parametrize("max_norm", [0.5, 0.0])
def test_max_norm_holds_after_every_step(max_norm) -> None:
    torch.manual_seed(0)
    model = TextCNN(ModelConfig(vocab_size=30, num_classes=3, embedding_dim=8, num_filters=4))
    with torch.no_grad():
        model.classifier.weight.mul_(50.0)  # far above the cap before training
    sequences = [[random.Random(i).randint(2, 29) for _ in range(6)] for i in range(20)]
    targets = np.arange(20) % 3
    config = TrainConfig(epochs=1, batch_size=20, lr=1e-3, max_norm=max_norm, patience=1, device="cpu")
    train_model(model, sequences, targets, sequences, targets, config, device=torch.device("cpu"), unk_id=1)
    norms = model.classifier.weight.norm(dim=1)
    if max_norm:
        assert torch.all(norms <= max_norm + 1e-5), norms
    else:
        assert torch.all(norms > 1.0), norms  # 0 disables the cap


# ---------------------------------------------------------------------------------- init-from
@pytest.fixture(scope="module")
def source_dir(tmp_path_factory, fitted):
    path = tmp_path_factory.mktemp("source") / "model"
    fitted.save(path)
    return path


def test_init_from_reuses_features_and_trains_a_new_output_layer(source_dir, fitted) -> None:
    texts, topics = make_corpus(240, seed=7)
    labels = ["sports" if t == "sports" else "other" for t in topics]
    frozen = TextCNNClassifier(init_from=str(source_dir), freeze_features=True, **SMALL | {"embedding_dim": None})
    frozen.fit(texts, labels)
    source = fitted.model_
    assert frozen.tokenizer_.get_vocab() == fitted.tokenizer_.get_vocab()
    assert torch.equal(frozen.model_.embedding.weight, source.embedding.weight)
    for new, old in zip(frozen.model_.convs, source.convs, strict=True):
        assert torch.equal(new.weight, old.weight) and torch.equal(new.bias, old.bias)
    assert frozen.model_.classifier.weight.shape == (2, source.config.feature_dim)
    test_texts, test_topics = make_corpus(90, seed=8)
    test_labels = ["sports" if t == "sports" else "other" for t in test_topics]
    assert frozen.score(test_texts, test_labels) >= 0.9

    tuned = TextCNNClassifier(init_from=str(source_dir), **SMALL | {"embedding_dim": None, "epochs": 2})
    tuned.fit(texts, labels)
    assert not torch.equal(tuned.model_.convs[0].weight, source.convs[0].weight)


def test_init_from_refuses_a_different_embedding_size(source_dir) -> None:
    texts, topics = make_corpus(30, seed=7)
    with pytest.raises(TextCNNError, match="leave `embedding_dim` out"):
        TextCNNClassifier(init_from=str(source_dir), **SMALL | {"embedding_dim": 64}).fit(texts, topics)


def test_init_from_names_the_changed_settings_it_cannot_use(source_dir, caplog) -> None:
    texts, topics = make_corpus(60, seed=7)
    same = SMALL | {"embedding_dim": None, "epochs": 1}
    with caplog.at_level(logging.WARNING, logger="textcnn.classifier"):
        TextCNNClassifier(init_from=str(source_dir), **same).fit(texts, topics)
        assert "is not used" not in caplog.text  # the source's own sizes: nothing to say
        changed = same | {"kernel_sizes": (2,), "min_freq": 2}
        TextCNNClassifier(init_from=str(source_dir), **changed).fit(texts, topics)
    assert "kernel_sizes=(2,) is not used: the init_from model keeps its own, (3, 4, 5)" in caplog.text
    assert "min_freq=2 is not used: the vocabulary is the init_from model's" in caplog.text


@pytest.mark.parametrize("num_filters", ["auto", 5])
def test_init_from_logs_the_filters_it_uses(source_dir, caplog, num_filters) -> None:
    texts, topics = make_corpus(60, seed=7)
    settings = SMALL | {"embedding_dim": None, "epochs": 1, "max_length": "auto", "num_filters": num_filters}
    with caplog.at_level(logging.INFO, logger="textcnn.classifier"):
        TextCNNClassifier(init_from=str(source_dir), **settings).fit(texts, topics)
    sizing_line = next(line for line in caplog.text.splitlines() if "median training text" in line)
    assert sizing_line.endswith(f"{SMALL['num_filters']} filters per width")  # the source's, not 5 or auto's


# ----------------------------------------------------------------------------------------- CLI
def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_trains_with_vectors_and_reports_a_dimension_mismatch(task, tmp_path) -> None:
    root, (x, y), _ = task
    pd.DataFrame({"text": x, "label": y}).to_csv(tmp_path / "train.csv", index=False)
    common = ["--epochs", "2", "--num-filters", "8", "--device", "cpu"]
    result = _run("train", tmp_path / "train.csv", "--out", tmp_path / "m", "--vectors", root / "vectors.bin",
                  "--embedding-mode", "static", *common)  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())["model"]
    assert (config["embedding_mode"], config["embedding_dim"]) == ("static", DIM)

    relabelled = pd.DataFrame({"text": x, "label": [f"new-{label}" for label in y]})
    relabelled.to_csv(tmp_path / "new.csv", index=False)
    result = _run("train", tmp_path / "new.csv", "--out", tmp_path / "fine", "--init-from", tmp_path / "m",
                  "--freeze-features", *common)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "fine" / "labels.json").read_text()) == ["new-neg", "new-pos"]
    source = TextCNNClassifier.load(tmp_path / "m", device="cpu").model_
    fine = TextCNNClassifier.load(tmp_path / "fine", device="cpu").model_
    assert fine.config.embedding_mode == "static"
    assert torch.equal(fine.convs[1].weight, source.convs[1].weight)

    result = _run("train", tmp_path / "train.csv", "--out", tmp_path / "m2", "--vectors", root / "vectors.bin",
                  "--embedding-dim", "300", *common)  # fmt: skip
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert "--embedding-dim 16" in result.output
    assert not (tmp_path / "m2").exists()


def test_vectors_command_without_gensim_says_how_to_install(tmp_path, monkeypatch) -> None:
    (tmp_path / "corpus.txt").write_text("a b c\n")
    monkeypatch.setitem(sys.modules, "gensim", None)  # makes `import gensim` fail
    result = _run("vectors", tmp_path / "corpus.txt", "--out", tmp_path / "v.bin")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: training word vectors needs gensim: pip install 'textcnn[vectors]'"


def test_vectors_command_writes_loadable_word2vec_binary(tmp_path) -> None:
    pytest.importorskip("gensim")
    texts, labels = make_corpus(120, seed=4)
    texts[0] = "The CHEF said: Pasta!"  # normalised like textcnn's tokenizer: lowercase, split punctuation
    pd.DataFrame({"body": texts, "label": labels}).to_csv(tmp_path / "corpus.csv", index=False)
    out = tmp_path / "v.bin"
    result = _run("vectors", tmp_path / "corpus.csv", "--text-column", "body", "--out", out,
                  "--dim", "8", "--epochs", "1", "--min-count", "1", "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    fmt = detect_format(out)
    assert (fmt.binary, fmt.dim) == (True, 8)
    words = {w for w, v in iter_vectors(out) if v is not None and v.shape == (8,)}
    assert {"chef", "pasta", "said", ":", "!"} <= words and "Pasta" not in words
    tokenizer = train_tokenizer(texts)
    covered = load_vectors_for(out, tokenizer, embedding_dim=8, seed=0)
    assert covered.found_count == covered.vocab_count  # min-count 1: every tokenizer word has a vector
    again = _run("vectors", tmp_path / "corpus.csv", "--text-column", "body", "--out", out, "--dim", "8")
    assert again.exit_code == 1 and "--overwrite" in again.output


@pytest.mark.parametrize(
    ("name", "binary", "compressed"),
    [("v.bin", True, False), ("v.bin.gz", True, True), ("v.txt", False, False), ("v.vec.gz", False, True)],
)
def test_vectors_command_writes_the_format_the_name_says(tmp_path, name: str, binary: bool, compressed: bool) -> None:
    """Other tools go by the name: `v.bin.gz` held plain binary (gensim: BadGzipFile), `v.txt` binary."""
    gensim_models = pytest.importorskip("gensim.models")
    texts, _ = make_corpus(60, seed=4)
    (tmp_path / "corpus.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    options = ["--dim", "8", "--epochs", "1", "--min-count", "1", "--workers", "1"]
    result = _run("vectors", tmp_path / "corpus.txt", "--out", tmp_path / name, *options)
    assert result.exit_code == 0, result.output
    fmt = detect_format(tmp_path / name)
    assert (fmt.binary, fmt.compressed, fmt.dim) == (binary, compressed, 8)
    loaded = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
    assert loaded.vector_size == 8 and "chef" in loaded.key_to_index
    covered = load_vectors_for(tmp_path / name, train_tokenizer(texts), embedding_dim=8, seed=0)
    assert covered.found_count == covered.vocab_count
    if compressed:  # the same run gives the same bytes, gzip header included
        first = (tmp_path / name).read_bytes()
        again = _run("vectors", tmp_path / "corpus.txt", "--out", tmp_path / name, *options, "--overwrite")
        assert again.exit_code == 0 and (tmp_path / name).read_bytes() == first


def test_vectors_command_refuses_a_compression_textcnn_cannot_read(tmp_path) -> None:
    (tmp_path / "corpus.txt").write_text("a b c\n")
    result = _run("vectors", tmp_path / "corpus.txt", "--out", tmp_path / "v.bin.bz2")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "textcnn reads plain or gzip-compressed vector files only" in result.output.strip().splitlines()[-1]
    assert not (tmp_path / "v.bin.bz2").exists()
