"""Model directories: every broken file is named, and nothing is ever unpickled."""

from __future__ import annotations

import json
import pickle

import pytest
from conftest import SMALL

from textcnn import TextCNNClassifier, TextCNNError


@pytest.fixture()
def model_dir(fitted, tmp_path):
    return fitted.save(tmp_path / "model")


@pytest.mark.parametrize("name", ["config.json", "labels.json", "tokenizer.json", "model.safetensors"])
def test_missing_file_is_named(model_dir, name: str) -> None:
    (model_dir / name).unlink()
    with pytest.raises(TextCNNError, match=name.replace(".", r"\.")):
        TextCNNClassifier.load(model_dir)


@pytest.mark.parametrize("name", ["config.json", "labels.json", "model.safetensors"])
def test_corrupt_file_is_named(model_dir, name: str) -> None:
    (model_dir / name).write_bytes(b"\x00garbage{")
    with pytest.raises(TextCNNError, match=name.replace(".", r"\.")):
        TextCNNClassifier.load(model_dir)


def test_truncated_weights_are_reported(model_dir) -> None:
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(TextCNNError, match="model.safetensors"):
        TextCNNClassifier.load(model_dir)


def test_newer_format_version_asks_for_an_upgrade(model_dir) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["format_version"] = 999
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(TextCNNError, match="newer.*upgrade"):
        TextCNNClassifier.load(model_dir)


class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('x')",))


def test_a_planted_pickle_is_never_executed(model_dir, tmp_path, monkeypatch) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    payload = pickle.dumps(_Exploit())
    for name in ("pytorch_model.bin", "model.pt", "model.pkl", "optimizer.pt"):
        (model_dir / name).write_bytes(payload)
    loaded = TextCNNClassifier.load(model_dir)
    loaded.predict(["a text"])
    assert not marker.exists()


def test_saved_files_get_the_usual_permissions_not_private_temp_file_ones(model_dir) -> None:
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o666 & ~umask
    for path in model_dir.iterdir():
        assert path.stat().st_mode & 0o777 == expected, path.name


def test_a_tokenizer_with_more_words_than_the_embedding_is_refused(model_dir) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.add_tokens(["zzzextra"])  # as a tokenizer.json copied from a model with one more word
    tokenizer.save(str(model_dir / "tokenizer.json"))
    with pytest.raises(TextCNNError, match=r"tokenizer\.json has \d+ tokens .* embedding has \d+ rows"):
        TextCNNClassifier.load(model_dir)


def test_a_tokenizer_whose_vocabulary_lacks_unk_is_refused(model_dir) -> None:
    path = model_dir / "tokenizer.json"
    data = json.loads(path.read_text())
    del data["model"]["vocab"]["[UNK]"]  # still an added token, so token_to_id finds it; encoding fails
    path.write_text(json.dumps(data))
    with pytest.raises(TextCNNError, match=r"tokenizer\.json names \[UNK\] as its unknown token"):
        TextCNNClassifier.load(model_dir)


def test_a_tokenizer_with_pad_elsewhere_than_config_says_is_refused(model_dir) -> None:
    path = model_dir / "tokenizer.json"
    data = json.loads(path.read_text())
    del data["model"]["vocab"]["[PAD]"]  # [PAD] survives as an added token, at a new id
    path.write_text(json.dumps(data))
    with pytest.raises(TextCNNError, match=r"tokenizer\.json has \[PAD\] at id \d+ but config\.json's pad_id is 0"):
        TextCNNClassifier.load(model_dir)


def test_a_model_trained_with_its_own_bpe_tokenizer_and_pad_not_at_0_loads(corpus, tmp_path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    texts, labels = corpus
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(special_tokens=["[UNK]", "[PAD]"], vocab_size=80))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    model = TextCNNClassifier(tokenizer=str(tmp_path / "tokenizer.json"), **{**SMALL, "epochs": 2})
    model.fit(texts[:120], labels[:120])
    assert model.model_.config.pad_id == 1
    loaded = TextCNNClassifier.load(model.save(tmp_path / "model"))
    assert loaded.predict_proba(["striker zzz qqq"]) == pytest.approx(model.predict_proba(["striker zzz qqq"]))


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            [["food"], ["sports"], ["tech"]],
            r'labels\.json must list class names as strings, numbers or booleans, not \["food"\]',
        ),
        (["food", {"a": 1}, "tech"], r"labels\.json must list class names as strings"),
        (["food", None, "tech"], r"labels\.json must list class names as strings, numbers or booleans, not null"),
        (["food", "food", "tech"], r'labels\.json lists the class "food" twice'),
    ],
)
def test_labels_that_are_nested_or_repeated_are_refused(model_dir, labels, message: str) -> None:
    (model_dir / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(TextCNNError, match=message):
        TextCNNClassifier.load(model_dir)


def _edit_weights(model_dir, edit) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(model_dir / "model.safetensors"))
    edit(state)
    save_file(state, str(model_dir / "model.safetensors"), metadata={"format": "pt"})


def test_a_weights_config_mismatch_names_the_tensor_and_both_shapes(model_dir) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["model"]["num_filters"] += 1
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(TextCNNError) as error:
        TextCNNClassifier.load(model_dir)
    filters, dim = config["model"]["num_filters"], config["model"]["embedding_dim"]
    kernel = config["model"]["kernel_sizes"][0]
    assert str(error.value).endswith(
        f"model.safetensors does not match config.json: convs.0.weight has shape [{filters - 1}, {dim}, {kernel}], "
        f"config.json implies [{filters}, {dim}, {kernel}] (and 6 more problems)"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda state: state.pop("convs.2.bias"), r"does not match config\.json: missing tensor convs\.2\.bias$"),
        (lambda state: state.__setitem__("extra", state["convs.0.bias"].clone()), r"unexpected tensor extra$"),
    ],
)
def test_a_missing_or_unexpected_tensor_is_named(model_dir, edit, message: str) -> None:
    _edit_weights(model_dir, edit)
    with pytest.raises(TextCNNError, match=message):
        TextCNNClassifier.load(model_dir)


@pytest.mark.parametrize("version", ["1", 1.0, True, 0, None])
def test_a_format_version_that_is_no_version_is_called_invalid(model_dir, version) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["format_version"] = version
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(TextCNNError, match=r"config\.json has format_version .*, which is not a valid version"):
        TextCNNClassifier.load(model_dir)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_with_nan_or_infinity_are_refused(model_dir, value: float) -> None:
    _edit_weights(model_dir, lambda state: state["classifier.bias"].fill_(value))
    with pytest.raises(TextCNNError, match=r"model\.safetensors holds NaN or infinite values in classifier\.bias"):
        TextCNNClassifier.load(model_dir)


def test_load_then_save_keeps_the_training_history(fitted, model_dir, tmp_path) -> None:
    assert fitted.history_ and fitted.refit_history_  # both kinds of record are there to keep
    loaded = TextCNNClassifier.load(model_dir)
    assert loaded.history_ == json.loads(json.dumps(fitted.history_))
    assert loaded.refit_history_ == json.loads(json.dumps(fitted.refit_history_))
    assert (loaded.save(tmp_path / "again") / "metrics.jsonl").read_bytes() == (
        model_dir / "metrics.jsonl"
    ).read_bytes()
    assert (model_dir / "metrics.jsonl").read_text().count("\n") == len(fitted.history_) + len(fitted.refit_history_)


def test_a_damaged_metrics_file_leaves_the_history_empty_not_the_model_unusable(model_dir) -> None:
    (model_dir / "metrics.jsonl").write_text("not json\n")
    loaded = TextCNNClassifier.load(model_dir)
    assert loaded.history_ == [] and loaded.refit_history_ == []
    assert len(loaded.predict(["a text"])) == 1
