"""ONNX export: onnxruntime reproduces PyTorch for every architecture and length, int8 agrees on
the classes, broken or foreign files are one clear error, and `predict --engine onnx` writes what
the torch engine writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import SMALL, TOPICS, make_corpus

from textcnn import TextCNNClassifier
from textcnn.cli.main import cli
from textcnn.errors import TextCNNError
from textcnn.inference import predict_logits
from textcnn.tokenization import encode_batch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from textcnn.export import onnx as export  # noqa: E402  (needs onnx and onnxruntime)

TINY = {**SMALL, "epochs": 2, "embedding_dim": 12, "num_filters": 6, "refit": False, "average_best": 1}


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_vectors(path, dim: int) -> None:
    """word2vec text vectors for the corpus's words: each topic's words near one direction."""
    rng = np.random.default_rng(3)
    lines = []
    for topic, words in enumerate(TOPICS.values()):
        for word in words:
            vector = rng.normal(0, 0.1, dim)
            vector[topic] += 1.0
            lines.append(word + " " + " ".join(f"{v:.5f}" for v in vector))
    path.write_text(f"{len(lines)} {dim}\n" + "\n".join(lines) + "\n", encoding="utf-8")


def onnx_logits(folder, sequences) -> np.ndarray:
    """Logits of a folder's model.onnx fed by hand: padded to the batch's longest text only."""
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    width = max(1, max(len(s) for s in sequences))
    batch = np.zeros((len(sequences), width), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
    return session.run(["logits"], {"input_ids": batch})[0]


def weight_bytes(path) -> int:
    """Bytes of the graph's stored weights (what quantisation shrinks; the graph's ops stay)."""
    return sum(len(t.raw_data) or onnx.numpy_helper.to_array(t).nbytes for t in onnx.load(str(path)).graph.initializer)


ARCHITECTURES = {
    "rand-max-wide": {},
    "rand-max+mean-narrow": {"pooling": "max+mean", "wide_convolution": False},
    "multichannel-max+mean-wide": {"embedding_mode": "multichannel", "pooling": "max+mean"},
    "multichannel-max-narrow": {"embedding_mode": "multichannel", "wide_convolution": False},
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_onnxruntime_logits_equal_pytorch_for_every_architecture_and_length(name, tmp_path) -> None:
    settings = dict(ARCHITECTURES[name])
    if settings.get("embedding_mode") == "multichannel":
        write_vectors(tmp_path / "vectors.txt", dim=TINY["embedding_dim"])
        settings["vectors"] = str(tmp_path / "vectors.txt")
    texts, labels = make_corpus(90, seed=4)
    clf = TextCNNClassifier(**TINY, kernel_sizes=(2, 5), max_length=10, **settings).fit(texts, labels)
    if clf.model_.static_embedding is not None:  # the two channels differ after training
        assert not torch.equal(clf.model_.static_embedding.weight, clf.model_.embedding.weight)
    result = clf.export_onnx(tmp_path / "export")
    assert result.check.max_abs_diff <= export.FP32_TOLERANCE
    assert result.check.shortest == 0 and result.check.longest > clf.model_.config.max_length

    config = clf.model_.config
    words = [i for i in range(config.vocab_size) if i != config.pad_id]
    rng = np.random.default_rng(0)
    # Shorter than the widest kernel (5), typical, and far longer than max_length (10), in one batch.
    sequences = [[], [words[0]], rng.choice(words, 4).tolist(), rng.choice(words, 9).tolist()]
    sequences += [rng.choice(words, 40).tolist(), rng.choice(words, 200).tolist()]
    expected = predict_logits(clf.model_, sequences)
    got = onnx_logits(tmp_path / "export", sequences)
    np.testing.assert_allclose(got, expected, atol=export.FP32_TOLERANCE, rtol=0)
    alone = np.concatenate([onnx_logits(tmp_path / "export", [s]) for s in sequences])
    np.testing.assert_allclose(alone, expected, atol=export.FP32_TOLERANCE, rtol=0)  # padding changes nothing

    manifest = json.loads((tmp_path / "export" / "export.json").read_text())
    assert manifest["quantization"] is None and manifest["opset"] == export.OPSET
    assert manifest["inputs"][0]["name"] == "input_ids" and manifest["outputs"][0]["name"] == "logits"
    assert json.loads((tmp_path / "export" / "labels.json").read_text()) == list(clf.classes_)


@pytest.fixture(scope="module")
def folders(fitted, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    model = fitted.save(root / "model")
    assert run("export", model, "--format", "onnx", "--out", root / "fp32", "--quiet").exit_code == 0
    return root


def test_int8_export_agrees_with_pytorch_and_stores_the_embeddings_in_a_quarter(folders, fitted, tmp_path) -> None:
    texts, _ = make_corpus(300, seed=8)
    (tmp_path / "check.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    result = run(
        "export", folders / "model", "--quantize", "int8", "--out", folders / "int8", "--check", tmp_path / "check.txt"
    )
    assert result.exit_code == 0, result.output
    assert "300 check.txt inputs" in result.output and "argmax agreement" in result.output
    manifest = json.loads((folders / "int8" / "export.json").read_text())
    assert manifest["quantization"] == "int8" and manifest["check"]["samples"] == 300
    assert manifest["check"]["argmax_agreement"] >= export.INT8_MIN_AGREEMENT
    # The embedding table is stored as int8: a quarter of its float32 bytes (the graph's ops stay).
    weights = {name: weight_bytes(folders / name / "model.onnx") for name in ("fp32", "int8")}
    table = fitted.model_.embedding.weight
    assert weights["fp32"] - weights["int8"] >= 0.7 * table.numel() * table.element_size(), weights
    config = fitted.model_.config
    ids = encode_batch(fitted.tokenizer_, texts, config.max_length, config.truncation)
    agreement = (onnx_logits(folders / "int8", ids).argmax(1) == predict_logits(fitted.model_, ids).argmax(1)).mean()
    assert agreement >= 0.99


def test_a_failed_check_writes_nothing(fitted, tmp_path, monkeypatch) -> None:
    real = export.run_logits
    monkeypatch.setattr(export, "run_logits", lambda *args, **kwargs: real(*args, **kwargs) + 1e-3)
    with pytest.raises(TextCNNError, match=r"does not reproduce PyTorch.*max \|logit diff\| 1\.00e-03"):
        fitted.export_onnx(tmp_path / "export")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_predict_with_the_onnx_engine_writes_what_the_torch_engine_writes(folders, tmp_path, fmt) -> None:
    texts, _ = make_corpus(40, seed=6)
    texts[3] = ""
    texts[7] = " ".join(texts[:30])  # longer than max_length: truncated as for the torch engine
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    outputs = {}
    for engine, folder in (("torch", folders / "model"), ("onnx", folders / "fp32")):
        out = tmp_path / f"{engine}.{fmt}"
        args = ("predict", folder, tmp_path / "in.txt", "--output", out, "--top-k", "2", "--probabilities")
        result = run(*args, "--engine", engine, "--quiet")
        assert result.exit_code == 0, result.output
        outputs[engine] = pd.read_json(out, lines=True) if fmt == "jsonl" else pd.read_csv(out)
    torch_rows, onnx_rows = outputs["torch"], outputs["onnx"]
    assert len(onnx_rows) == len(texts)
    assert list(onnx_rows.columns) == list(torch_rows.columns)
    assert onnx_rows["label"].tolist() == torch_rows["label"].tolist()
    np.testing.assert_allclose(onnx_rows["score"], torch_rows["score"], atol=1e-5)
    if fmt == "csv":
        assert onnx_rows["label_2"].tolist() == torch_rows["label_2"].tolist()
        probabilities = [c for c in onnx_rows.columns if c.startswith("prob_")]
        np.testing.assert_allclose(onnx_rows[probabilities], torch_rows[probabilities], atol=1e-5)


def test_a_broken_onnx_file_is_one_clear_error(folders, tmp_path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in export.EXPORT_FILES:
        (broken / name).write_bytes((folders / "fp32" / name).read_bytes())
    (broken / "model.onnx").write_bytes(b"\x08\x07garbage, not protobuf")
    (tmp_path / "in.txt").write_text("chef pasta\n", encoding="utf-8")
    result = run("predict", broken, tmp_path / "in.txt", "--engine", "onnx")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {broken / 'model.onnx'} is corrupt or not a valid ONNX")
    assert "textcnn export" in lines[0]


def test_a_foreign_onnx_file_is_one_clear_error(folders, tmp_path) -> None:
    """An ONNX graph textcnn did not write (another input, no textcnn metadata) is refused by name."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["pixels"], ["logits"])],
        "foreign",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
    )
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name in export.EXPORT_FILES:
        (foreign / name).write_bytes((folders / "fp32" / name).read_bytes())
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(foreign / "model.onnx"))
    (tmp_path / "in.txt").write_text("chef pasta\n", encoding="utf-8")
    result = run("predict", foreign, tmp_path / "in.txt", "--engine", "onnx")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {foreign / 'model.onnx'} was not exported by textcnn (inputs: pixels: tensor(float)); "
        "export the model folder with `textcnn export MODEL_DIR --format onnx --out DIR`"
    ]
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.onnx").write_bytes((folders / "fp32" / "model.onnx").read_bytes())
    with pytest.raises(TextCNNError, match=r"bare \.onnx file; `engine='onnx'` takes the folder"):
        export.load_onnx_export(bare / "model.onnx")


def test_engines_and_folders_that_do_not_match_are_clear_errors(folders, tmp_path) -> None:
    (tmp_path / "in.txt").write_text("chef pasta\n", encoding="utf-8")
    result = run("predict", folders / "model", tmp_path / "in.txt", "--engine", "onnx")
    assert result.exit_code == 1 and "is a PyTorch model folder, not an ONNX export" in result.output
    result = run("predict", folders / "fp32", tmp_path / "in.txt")
    assert result.exit_code == 1 and "is an ONNX export folder: predict with it using --engine onnx" in result.output


def test_a_missing_onnxruntime_says_how_to_install_it(fitted, tmp_path, monkeypatch) -> None:
    real = export.importlib.import_module

    def without_onnxruntime(name, *args):
        if name.startswith("onnxruntime"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(export.importlib, "import_module", without_onnxruntime)
    with pytest.raises(TextCNNError, match=r"onnxruntime is not installed.*pip install 'textcnn\[onnx\]'"):
        fitted.export_onnx(tmp_path / "export")
    assert list(tmp_path.iterdir()) == []
