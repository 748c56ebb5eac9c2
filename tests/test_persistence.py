"""Model directories: every broken file is named, and nothing is ever unpickled."""

from __future__ import annotations

import json
import pickle

import pytest

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
