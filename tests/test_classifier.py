"""The scikit-learn estimator: contracts, persistence and composition with sklearn tools."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL, make_corpus
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from textcnn import TextCNNClassifier, TextCNNError


def test_learns_the_generated_task(fitted, test_corpus) -> None:
    texts, labels = test_corpus
    assert fitted.score(texts, labels) >= 0.9


def test_predict_proba_contract(fitted, test_corpus) -> None:
    texts, _ = test_corpus
    proba = fitted.predict_proba(texts)
    assert proba.shape == (len(texts), len(fitted.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert list(fitted.classes_) == ["food", "sports", "tech"]
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(texts))


def test_accepts_arrays_series_and_missing_texts(fitted) -> None:
    import pandas as pd

    texts = ["the chef made pasta", None, ""]
    series = pd.Series(texts)
    expected = fitted.predict_proba(["the chef made pasta", "", ""])
    np.testing.assert_allclose(fitted.predict_proba(series), expected)
    np.testing.assert_allclose(fitted.predict_proba(np.array(texts, dtype=object)), expected)


def test_a_single_string_is_a_value_error_wherever_texts_or_labels_go(fitted) -> None:
    """It was a TypeError; the README promises a ValueError for every data error. A string `y`
    would otherwise give its characters as labels."""
    calls = {
        "predict": lambda: fitted.predict("just one string"),
        "predict_proba": lambda: fitted.predict_proba("just one string"),
        "score": lambda: fitted.score("just one string", ["food"]),
        "fit": lambda: TextCNNClassifier(**SMALL).fit("just one string", ["food"]),
    }
    for call in calls.values():
        with pytest.raises(TextCNNError, match="expected a sequence of texts, got a single string"):
            call()
    with pytest.raises(TextCNNError, match="y must be a sequence of labels, got a single string"):
        TextCNNClassifier(**SMALL).fit(["a b", "c d"], "ab")
    with pytest.raises(TextCNNError, match="y must be a sequence of labels"):
        fitted.score(["the chef made pasta"], "food")
    with pytest.raises(TextCNNError, match="expected a sequence of texts, got a single string"):
        fitted.predict(b"bytes are one string too")  # not 24 texts of one byte each
    with pytest.raises(TextCNNError, match="y must be a sequence of labels, got a single string"):
        TextCNNClassifier(**SMALL).fit(["a b", "c d", "e f"], b"abc")


def test_predictions_do_not_depend_on_batch_composition(fitted, test_corpus) -> None:
    texts, _ = test_corpus
    together = fitted.predict_proba(texts)
    alone = np.vstack([fitted.predict_proba([t]) for t in texts[:10]])
    np.testing.assert_allclose(alone, together[:10], rtol=1e-5, atol=1e-6)


def test_save_then_load_gives_identical_probabilities(fitted, test_corpus, tmp_path) -> None:
    texts, _ = test_corpus
    fitted.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "config.json",
        "labels.json",
        "metrics.jsonl",
        "model.safetensors",
        "tokenizer.json",
    ]
    loaded = TextCNNClassifier.load(tmp_path / "model", device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.get_params()["num_filters"] == SMALL["num_filters"]


def test_integer_labels_are_preserved_through_save_and_load(tmp_path) -> None:
    texts, names = make_corpus(150, seed=3)
    codes = {"food": 10, "sports": 20, "tech": 30}
    labels = np.array([codes[n] for n in names])
    clf = TextCNNClassifier(**{**SMALL, "epochs": 3}).fit(texts, labels)
    assert clf.classes_.tolist() == [10, 20, 30]
    assert set(clf.predict(texts).tolist()) <= {10, 20, 30}
    clf.save(tmp_path / "m")
    assert TextCNNClassifier.load(tmp_path / "m").classes_.tolist() == [10, 20, 30]


def test_training_is_reproducible_on_cpu_with_a_seed(corpus) -> None:
    texts, labels = corpus
    params = {**SMALL, "epochs": 2, "seed": 7}
    a = TextCNNClassifier(**params).fit(texts[:120], labels[:120])
    b = TextCNNClassifier(**params).fit(texts[:120], labels[:120])
    np.testing.assert_array_equal(a.predict_proba(texts[:20]), b.predict_proba(texts[:20]))


def test_explicit_validation_set_and_history(corpus, test_corpus) -> None:
    texts, labels = corpus
    clf = TextCNNClassifier(**{**SMALL, "epochs": 3, "patience": 5}).fit(
        texts, labels, X_valid=test_corpus[0], y_valid=test_corpus[1]
    )
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3]
    assert {"train_loss", "valid_loss", "valid_accuracy"} <= set(clf.history_[0])
    assert clf.history_[clf.best_epoch_ - 1]["valid_accuracy"] == max(r["valid_accuracy"] for r in clf.history_)
    # The kept weights (the mean of the best epochs') are scored on the same validation set.
    assert clf.averaged_epochs_
    assert clf.valid_accuracy_ == pytest.approx(clf.score(*test_corpus))


def test_single_class_is_a_clear_error() -> None:
    with pytest.raises(TextCNNError, match="single class"):
        TextCNNClassifier(**SMALL).fit(["a b", "c d", "e f"], ["x", "x", "x"])


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA], ids=["None", "NaN", "pandas-NA"])
def test_missing_labels_are_a_clear_error(corpus, missing) -> None:
    texts, labels = corpus
    labels = pd.Series(labels, dtype=object)
    labels[7] = missing
    with pytest.raises(ValueError, match="y has 1 missing label.*index 7"):
        TextCNNClassifier(**SMALL).fit(texts, labels)


def test_validation_texts_without_labels_are_an_error(corpus) -> None:
    texts, labels = corpus
    with pytest.raises(ValueError, match="X_valid and y_valid must be given together"):
        TextCNNClassifier(**SMALL).fit(texts, labels, X_valid=texts[:10])


def test_predict_before_fit_is_not_fitted_error() -> None:
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(TextCNNClassifier(), method)(["a b"])


def test_pandas_na_texts_are_empty_texts(fitted) -> None:
    texts = pd.Series(["a good match", None], dtype="string")
    assert np.allclose(fitted.predict_proba(texts), fitted.predict_proba(["a good match", ""]))


@pytest.mark.parametrize(
    ("param", "value"), [("predict_batch_size", 0), ("predict_batch_size", -1), ("embedding_dim", 0)]
)
def test_sizes_below_one_are_refused_at_fit(corpus, param: str, value: int) -> None:
    with pytest.raises(TextCNNError, match=f"{param} must be an integer >= 1"):
        TextCNNClassifier(**{**SMALL, param: value}).fit(*corpus)


def test_predict_batch_size_set_to_zero_after_fit_is_an_error_not_a_hang(fitted) -> None:
    broken = clone(fitted).set_params(predict_batch_size=0)
    broken.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    with pytest.raises(TextCNNError, match="predict_batch_size must be an integer >= 1"):
        broken.predict(["a good match"])


def test_a_pickled_estimator_predicts_identically(fitted, test_corpus) -> None:
    """As the README promises: scikit-learn tools (joblib, GridSearchCV with n_jobs) pickle estimators."""
    texts, _ = test_corpus
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict_proba(texts), fitted.predict_proba(texts))


def test_clone_keeps_hyperparameters_and_drops_fitted_state(fitted) -> None:
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")


def test_pipeline_cross_val_score_and_grid_search(corpus) -> None:
    texts, labels = corpus
    texts, labels = np.array(texts[:180], dtype=object), np.array(labels[:180])
    pipeline = Pipeline(
        [
            ("lower", FunctionTransformer(lambda x: [t.lower() for t in x])),
            ("cnn", TextCNNClassifier(**SMALL)),
        ]
    )
    scores = cross_val_score(pipeline, texts, labels, cv=3)
    assert scores.shape == (3,)
    assert scores.mean() >= 0.7
    search = GridSearchCV(TextCNNClassifier(**{**SMALL, "epochs": 2}), {"num_filters": [4, 8]}, cv=2)
    search.fit(texts, labels)
    assert search.best_params_["num_filters"] in (4, 8)


def _verdict_at_the_end(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Long texts whose topic words come only after 40 filler words (a review's closing verdict)."""
    texts, labels = make_corpus(n, seed=seed)
    rng = np.random.default_rng(seed)
    filler = [" ".join(rng.choice(["the", "a", "of", "and", "movie", "plot"], size=40)) for _ in texts]
    return [f"{lead} {text}" for lead, text in zip(filler, texts, strict=True)], labels


def test_tail_truncation_reads_the_end_of_long_texts_and_is_saved(tmp_path) -> None:
    texts, labels = _verdict_at_the_end(240, seed=1)
    test_texts, test_labels = _verdict_at_the_end(90, seed=2)
    params = {**SMALL, "max_length": 24}  # head+tail keeps the last 18 tokens: every topic word
    head = TextCNNClassifier(**params, truncation="head").fit(texts, labels)
    both = TextCNNClassifier(**params, truncation="head+tail").fit(texts, labels)
    assert head.score(test_texts, test_labels) < 0.6  # the topic words were cut off
    assert both.score(test_texts, test_labels) >= 0.9
    both.save(tmp_path / "model")
    loaded = TextCNNClassifier.load(tmp_path / "model", device="cpu")  # where it was trained: exact equality
    assert loaded.get_params()["truncation"] == "head+tail"
    np.testing.assert_array_equal(loaded.predict_proba(test_texts), both.predict_proba(test_texts))


def test_max_and_mean_pooling_learns_and_survives_save_and_load(corpus, test_corpus, tmp_path) -> None:
    texts, labels = corpus
    clf = TextCNNClassifier(**SMALL, pooling="max+mean").fit(texts, labels)
    assert clf.model_.classifier.in_features == 2 * len(SMALL.get("kernel_sizes", (3, 4, 5))) * SMALL["num_filters"]
    assert clf.score(*test_corpus) >= 0.9
    clf.save(tmp_path / "model")
    loaded = TextCNNClassifier.load(tmp_path / "model", device="cpu")  # where it was trained: exact equality
    assert loaded.get_params()["pooling"] == "max+mean"
    np.testing.assert_array_equal(loaded.predict_proba(test_corpus[0]), clf.predict_proba(test_corpus[0]))


def test_model_directories_from_before_these_options_load_as_they_were_trained() -> None:
    from textcnn.config import ModelConfig

    saved = ModelConfig(vocab_size=10, num_classes=2).to_dict()
    for key in ("truncation", "pooling", "wide_convolution"):
        del saved[key]
    config = ModelConfig.from_dict(saved)
    assert (config.truncation, config.pooling, config.wide_convolution) == ("head", "max", False)


def test_quiet_fit_prints_no_progress_bars_off_a_terminal(capfd) -> None:
    texts, labels = make_corpus(60, seed=4)
    TextCNNClassifier(**{**SMALL, "epochs": 1}).fit(texts, labels)
    assert "Tokenizing" not in capfd.readouterr().err
    TextCNNClassifier(**{**SMALL, "epochs": 1}, verbose=True).fit(texts, labels)
    err = capfd.readouterr().err
    assert "Tokenizing" in err
    # 54 training rows, batches of 16: 4 steps, fewer than LOSS_DISPLAY_EVERY; the last one shows the loss
    assert re.search(r"epoch 1/1:[^\r]*loss=\d\.\d{4}", err), err[-500:]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_absent_device_is_a_clear_error_in_the_api_words_too(fitted, tmp_path) -> None:
    fitted.save(tmp_path / "m")
    message = r"device 'cuda' was asked for but no CUDA GPU is visible; use `device=\"auto\"`"
    with pytest.raises(TextCNNError, match=message):
        TextCNNClassifier.load(tmp_path / "m", device="cuda")


def test_a_one_column_frame_or_array_is_that_column(fitted, test_corpus) -> None:
    """What `ColumnTransformer` hands on for a list of one column: before, a DataFrame gave its column
    names as texts and an (n, 1) array one text "['...']" per row."""
    texts, labels = test_corpus
    expected = fitted.predict_proba(texts)
    np.testing.assert_array_equal(fitted.predict_proba(pd.DataFrame({"text": texts})), expected)
    np.testing.assert_array_equal(fitted.predict_proba(np.array(texts, dtype=object)[:, None]), expected)
    assert fitted.predict(pd.DataFrame({"text": texts})).tolist() == fitted.predict(texts).tolist()
    assert fitted.score(pd.DataFrame({"text": texts}), pd.DataFrame({"label": labels})) == fitted.score(texts, labels)


def test_other_two_d_inputs_are_refused_everywhere(fitted, corpus) -> None:
    texts, labels = corpus
    two = pd.DataFrame({"text": texts, "label": labels})
    message = r"X must be 1-D, one text per row \(e\.g\. df\['text'\]\); got 2 columns"
    for method in (fitted.predict, fitted.predict_proba):
        for value in (two, two.to_numpy()):
            with pytest.raises(ValueError, match=message):
                method(value)
    with pytest.raises(ValueError, match=message):
        fitted.score(two, labels)
    with pytest.raises(ValueError, match=message):
        TextCNNClassifier(**SMALL).fit(two.to_numpy(), labels)  # the labels would have become words
    with pytest.raises(ValueError, match=message.replace("X", "X_valid")):
        TextCNNClassifier(**SMALL).fit(texts, labels, X_valid=two, y_valid=labels)
    with pytest.raises(ValueError, match="X holds lists, not texts"):
        fitted.predict([["a", "good", "match"]])
    from scipy.sparse import csr_matrix  # a vectorizer's output handed on by mistake

    with pytest.raises(ValueError, match="X is a sparse matrix; pass one text per row"):
        fitted.predict(csr_matrix(np.eye(3)))


def test_fits_through_a_column_transformer(corpus, test_corpus) -> None:
    from sklearn.compose import ColumnTransformer

    texts, labels = corpus
    frame = pd.DataFrame({"text": texts[:120], "id": range(120)})
    params = {**SMALL, "epochs": 2}
    pipeline = Pipeline(
        [("columns", ColumnTransformer([("text", "passthrough", ["text"])])), ("cnn", TextCNNClassifier(**params))]
    ).fit(frame, labels[:120])
    direct = TextCNNClassifier(**params).fit(texts[:120], labels[:120])
    test = pd.DataFrame({"text": test_corpus[0], "id": 0})
    np.testing.assert_array_equal(pipeline.predict_proba(test), direct.predict_proba(test_corpus[0]))


def test_non_integer_float_labels_are_classes_for_score_too() -> None:
    texts, names = make_corpus(90, seed=5)
    codes = {"food": 0.5, "sports": 1.5, "tech": 2.25}
    labels = np.array([codes[n] for n in names])
    clf = TextCNNClassifier(**{**SMALL, "epochs": 2}).fit(texts, labels)
    assert clf.classes_.tolist() == [0.5, 1.5, 2.25]
    assert clf.score(texts, labels) == pytest.approx(np.mean(clf.predict(texts) == labels))
    assert clf.score(texts[:3], [0.5, 1.5, 9.0]) <= 2 / 3  # a label never trained on is never right


@pytest.mark.parametrize(
    "y",
    [
        [["pos"], ["neg"]] * 3,
        [("pos", "neg"), ("neg",)] * 3,
        [np.array(["pos"]), np.array(["neg"])] * 3,
        pd.Series([["pos"], ["neg"]] * 3),
    ],
    ids=["lists", "tuples", "arrays", "series-of-lists"],
)
def test_several_labels_per_row_are_refused(y) -> None:
    texts = ["a b", "c d"] * 3
    with pytest.raises(ValueError, match=r"y holds lists .*first at index 0.*single-label.*one label per row"):
        TextCNNClassifier(**SMALL).fit(texts, y)


def test_fit_dataset_refuses_a_label_column_of_lists() -> None:
    import datasets

    rows = datasets.Dataset.from_dict({"text": ["a b", "c d"] * 3, "label": [["pos"], ["neg", "pos"]] * 3})
    with pytest.raises(ValueError, match="the training data: the label column 'label' holds lists; textcnn trains"):
        TextCNNClassifier(**SMALL).fit_dataset(rows)


def test_a_label_matrix_is_refused_and_a_label_column_accepted(fitted, test_corpus) -> None:
    texts, labels = test_corpus
    with pytest.raises(ValueError, match=r"y must be 1-D, one label per row.*got 2 columns"):
        TextCNNClassifier(**SMALL).fit(texts, np.array([labels, labels]).T)
    assert fitted.score(texts, np.array(labels)[:, None]) == fitted.score(texts, labels)


def test_labels_mixing_strings_and_numbers_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"y mixes label types \(1 and 'neg'\)"):
        TextCNNClassifier(**SMALL).fit(["a b", "c d", "e f"], [1, "neg", 1])
    with pytest.raises(ValueError, match=r"y_valid mixes label types \(True and 2\)"):
        TextCNNClassifier(**SMALL).fit(["a b", "c d"], [1, 2], X_valid=["a", "b"], y_valid=[True, 2])


def test_estimator_errors_are_value_errors() -> None:
    """scikit-learn's convention (`check_classifiers_one_label`), and what callers catch around `fit`."""
    with pytest.raises(ValueError, match="single class"):
        TextCNNClassifier(**SMALL).fit(["a b", "c d", "e f"], ["x", "x", "x"])
    with pytest.raises(ValueError, match="predict_batch_size"):
        TextCNNClassifier(**{**SMALL, "predict_batch_size": 0}).fit(["a b", "c d"], ["x", "y"])


def test_tags_say_texts_not_matrices() -> None:
    from sklearn.utils import get_tags

    tags = get_tags(TextCNNClassifier()).input_tags
    assert (tags.string, tags.two_d_array) == (True, False)
    assert get_tags(TextCNNClassifier()).estimator_type == "classifier"
