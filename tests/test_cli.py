"""The CLI end to end through click's runner, and its one-line errors."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SMALL, make_corpus

from textcnn.cli.main import cli

TRAIN_OPTIONS = [
    "--embedding-dim",
    str(SMALL["embedding_dim"]),
    "--num-filters",
    str(SMALL["num_filters"]),
    "--batch-size",
    str(SMALL["batch_size"]),
    "--lr",
    str(SMALL["lr"]),
    "--epochs",
    str(SMALL["epochs"]),
    "--patience",
    str(SMALL["patience"]),
    "--device",
    "cpu",
]


def write_csv(path, n: int, seed: int, **columns) -> None:
    texts, labels = make_corpus(n, seed)
    pd.DataFrame({columns.get("text", "text"): texts, columns.get("label", "label"): labels}).to_csv(path, index=False)


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def assert_clean_error(result, *fragments: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    message = result.output.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained through `textcnn train` on generated data with custom column names."""
    root = tmp_path_factory.mktemp("cli")
    write_csv(root / "train.csv", 360, seed=1, text="body", label="topic")
    write_csv(root / "test.csv", 90, seed=2, text="body", label="topic")
    result = run(
        "train",
        root / "train.csv",
        "--out",
        root / "model",
        "--text-column",
        "body",
        "--label-column",
        "topic",
        *TRAIN_OPTIONS,
    )
    assert result.exit_code == 0, result.output
    saved = result.output.strip().splitlines()[-1]
    pattern = (
        r"weights averaged over epochs [\d,]+, validation accuracy [01]\.\d{4}; "
        r"(?:calibrated, temperature [\d.]+; )?then refit on all training rows for (\d+) epochs\)$"
    )
    refit = re.search(pattern, saved)
    assert refit and 1 <= int(refit.group(1)) <= SMALL["epochs"], saved
    return root


def test_train_writes_a_complete_model_directory(trained) -> None:
    names = sorted(p.name for p in (trained / "model").iterdir())
    expected = ["config.json", "labels.json", "metrics.jsonl", "model.safetensors", "tokenizer.json"]
    if importlib.util.find_spec("matplotlib") is not None:  # the training curves, drawn with textcnn[plot]
        expected = sorted([*expected, "curves.png"])
    assert names == expected
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["model"]["kernel_sizes"] == [3, 4, 5]
    epochs = [json.loads(line) for line in (trained / "model" / "metrics.jsonl").read_text().splitlines()]
    assert epochs and epochs[0]["epoch"] == 1


def test_eval_reports_high_accuracy_and_writes_json(trained) -> None:
    out = trained / "metrics.json"
    result = run(
        "eval",
        trained / "model",
        trained / "test.csv",
        "--text-column",
        "body",
        "--label-column",
        "topic",
        "--output",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "confusion matrix" in result.output
    metrics = json.loads(out.read_text())
    assert set(metrics) >= {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "n"}
    assert metrics["accuracy"] >= 0.9
    assert metrics["n"] == 90
    assert metrics["confusion_matrix"]["labels"] == ["food", "sports", "tech"]
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == 90
    assert set(metrics["per_class"]["food"]) == {"precision", "recall", "f1", "support"}


def test_eval_output_never_replaces_the_data_or_a_model_file(trained, tmp_path) -> None:
    """`--output` naming DATA replaced the test set with metrics; naming model/config.json broke the model."""
    data = tmp_path / "t.csv"
    data.write_bytes((trained / "test.csv").read_bytes())
    columns = ["--text-column", "body", "--label-column", "topic"]
    assert_clean_error(run("eval", trained / "model", data, *columns, "--output", data), "is the evaluated data file")
    assert data.read_bytes() == (trained / "test.csv").read_bytes()
    config = (trained / "model" / "config.json").read_bytes()
    for inside in ("config.json", "eval.json"):
        result = run("eval", trained / "model", data, *columns, "--output", trained / "model" / inside)
        assert_clean_error(result, "is inside the model directory")
    assert (trained / "model" / "config.json").read_bytes() == config
    assert not (trained / "model" / "eval.json").exists()
    (tmp_path / "folder").mkdir()
    for name in ("food", "tech"):
        (tmp_path / "folder" / name).mkdir()
        (tmp_path / "folder" / name / "1.txt").write_text(f"the {name}", encoding="utf-8")
    result = run("eval", trained / "model", tmp_path / "folder", "--output", tmp_path / "folder" / "m.json")
    assert_clean_error(result, "is inside the data folder")


def test_eval_output_dash_writes_the_json_to_stdout_and_the_report_to_stderr(trained, tmp_path, monkeypatch) -> None:
    """Like predict's `--output -`; eval wrote a file named `-`."""
    monkeypatch.chdir(tmp_path)
    columns = ["--text-column", "body", "--label-column", "topic"]
    result = run("eval", trained / "model", trained / "test.csv", *columns, "--output", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 90
    assert "confusion matrix" in result.stderr
    assert not (tmp_path / "-").exists()


def test_predict_writes_one_json_line_per_input_in_order(trained) -> None:
    texts = ["the chef cooked spicy pasta", "", "the striker scored a goal", "a new laptop chip"]
    (trained / "new.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = trained / "preds.jsonl"
    result = run("predict", trained / "model", trained / "new.txt", "--output", out, "--top-k", "2")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    assert [rows[i]["label"] for i in (0, 2, 3)] == ["food", "sports", "tech"]
    for row in rows:
        assert len(row["top_k"]) == 2
        assert row["top_k"][0] == {"label": row["label"], "score": row["score"]}
        assert row["top_k"][0]["score"] >= row["top_k"][1]["score"]


def test_predict_to_stdout_from_csv(trained) -> None:
    result = run("predict", trained / "model", trained / "test.csv", "--text-column", "body")
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 90


def test_missing_file_is_a_one_line_error(tmp_path) -> None:
    result = run("train", tmp_path / "nope.csv", "--out", tmp_path / "m")
    assert_clean_error(result, "file not found", "nope.csv")
    assert not (tmp_path / "m").exists()


def test_unknown_column_lists_the_existing_ones(trained, tmp_path) -> None:
    result = run("train", trained / "train.csv", "--out", tmp_path / "m")
    assert_clean_error(result, "no text column 'text'", "body, topic")
    assert not (tmp_path / "m").exists()


def test_empty_data_is_an_error(tmp_path) -> None:
    (tmp_path / "empty.csv").write_text("text,label\n")
    assert_clean_error(run("train", tmp_path / "empty.csv", "--out", tmp_path / "m"), "no data rows")


def test_single_class_is_an_error_and_leaves_no_output(tmp_path) -> None:
    pd.DataFrame({"text": ["a b", "c d", "e f"], "label": ["x"] * 3}).to_csv(tmp_path / "one.csv", index=False)
    assert_clean_error(run("train", tmp_path / "one.csv", "--out", tmp_path / "m", *TRAIN_OPTIONS), "single class")
    assert not (tmp_path / "m").exists()


def test_a_directory_that_is_not_a_model_is_an_error(tmp_path) -> None:
    (tmp_path / "data.txt").write_text("hello\n")
    assert_clean_error(run("predict", tmp_path, tmp_path / "data.txt"), "config.json is missing")
    assert_clean_error(run("eval", tmp_path / "absent", tmp_path / "data.txt"), "model directory not found")


def test_existing_model_is_not_overwritten_without_flag(trained) -> None:
    result = run(
        "train", trained / "train.csv", "--out", trained / "model", "--text-column", "body", "--label-column", "topic"
    )
    assert_clean_error(result, "already holds a model", "--overwrite")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--kernel-sizes", "0"),
        ("--kernel-sizes", "3,x"),
        ("--dropout", "-0.1"),
        ("--epochs", "0"),
        ("--num-filters", "0"),
        ("--max-length", "long"),
    ],
)
def test_invalid_option_values_are_usage_errors(tmp_path, option: str, value: str) -> None:
    write_csv(tmp_path / "d.csv", 12, seed=0)
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", option, value)
    assert result.exit_code == 2
    assert option in result.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("rank", "local_rank", "printed"), [("0", "0", True), ("1", "1", False), ("2", "0", True)], ids=str
)
def test_under_torchrun_the_first_process_of_each_node_prints_the_error(
    tmp_path, monkeypatch, rank: str, local_rank: str, printed: bool
) -> None:
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    monkeypatch.setenv("WORLD_SIZE", "4")
    result = run("train", tmp_path / "nope.csv", "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert ("Error: file not found" in result.output) == printed
    usage = run("train", tmp_path / "nope.csv", "--out", tmp_path / "m", "--epochs", "0")
    assert usage.exit_code == 2
    assert ("Error: Invalid value for '--epochs'" in usage.output) == printed


def test_under_torchrun_every_process_leaves_its_error_for_torchruns_report(tmp_path, monkeypatch) -> None:
    """torchrun's failure report shows each worker's TORCHELASTIC_ERROR_FILE: so an error that only
    a silent process (local rank 1) meets still reaches the user."""
    error_file = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(error_file))
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = run("train", tmp_path / "nope.csv", "--out", tmp_path / "m")
    assert result.exit_code == 1 and "Error" not in result.output
    assert json.loads(error_file.read_text())["message"] == f"Error: file not found: {tmp_path / 'nope.csv'}"


def test_single_process_commands_refuse_torchrun_with_several_processes(trained, tmp_path, monkeypatch) -> None:
    """Under `torchrun -m textcnn eval/predict/vectors/export` every process did the whole job: the report
    twice, the same output file written by each."""
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    (tmp_path / "new.txt").write_text("the chef cooked pasta\n", encoding="utf-8")
    commands = {
        "eval": ["eval", trained / "model", trained / "test.csv", "--text-column", "body", "--label-column", "topic",
                 "--output", tmp_path / "out"],
        "predict": ["predict", trained / "model", tmp_path / "new.txt", "--output", tmp_path / "out.jsonl"],
        "vectors": ["vectors", tmp_path / "new.txt", "--out", tmp_path / "v.bin", "--min-count", "1"],
        "export": ["export", trained / "model", "--out", tmp_path / "exported"],
    }  # fmt: skip
    for command, args in commands.items():
        assert_clean_error(run(*args), f"textcnn {command} runs in a single process; run it without torchrun")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt"]
    monkeypatch.setenv("WORLD_SIZE", "1")  # `torchrun --nproc-per-node 1` is one process: nothing to refuse
    assert run(*commands["predict"]).exit_code == 0


def test_under_torchrun_an_unexpected_exception_reaches_torchruns_report_too(tmp_path, monkeypatch) -> None:
    """Not only `Error:` lines: a bug or an out-of-memory error leaves its traceback there as well."""
    import textcnn.data.loaders as loaders  # `textcnn train` imports load_source from here when it runs

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(loaders, "load_source", broken)
    error_file = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(error_file))
    write_csv(tmp_path / "train.csv", 30, seed=0)
    with pytest.raises(RuntimeError, match="simulated"):
        run("train", tmp_path / "train.csv", "--out", tmp_path / "m")
    message = json.loads(error_file.read_text())["message"]
    assert message.startswith("Traceback") and message.endswith("RuntimeError: CUDA out of memory (simulated)")


def test_python_dash_m_textcnn_runs_the_cli(tmp_path) -> None:
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "textcnn", "train", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "m")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: file not found: {tmp_path / 'nope.csv'}"]


def test_help_ends_with_examples() -> None:
    for command in ("train", "eval", "predict"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.output


def test_eval_scores_float_labels_the_model_was_trained_on(tmp_path) -> None:
    """0.5 / 1.5 train; eval ended in a traceback ("continuous is not supported")."""
    texts, names = make_corpus(90, seed=3)
    codes = {"food": 0.5, "sports": 1.5, "tech": 2.5}
    pd.DataFrame({"text": texts, "label": [codes[n] for n in names]}).to_parquet(tmp_path / "d.parquet")
    trained = run("train", tmp_path / "d.parquet", "--out", tmp_path / "m", *TRAIN_OPTIONS, "--epochs", "2")
    assert trained.exit_code == 0, trained.output
    result = run("eval", tmp_path / "m", tmp_path / "d.parquet", "--output", tmp_path / "metrics.json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["confusion_matrix"]["labels"] == [0.5, 1.5, 2.5]
    assert metrics["n"] == 90


def test_a_label_column_of_lists_is_a_one_line_error_in_train_and_eval(trained, tmp_path) -> None:
    rows = [{"body": "a good match", "topic": ["sports"]}, {"body": "spicy pasta", "topic": ["food", "tech"]}]
    (tmp_path / "multi.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    columns = ["--text-column", "body", "--label-column", "topic"]
    fragments = ("multi.jsonl: the label column 'topic' holds lists", "single-label classifiers (one label per row)")
    assert_clean_error(run("train", tmp_path / "multi.jsonl", "--out", tmp_path / "m", *columns), *fragments)
    assert not (tmp_path / "m").exists()
    assert_clean_error(run("eval", trained / "model", tmp_path / "multi.jsonl", *columns), *fragments)


def test_valid_reads_a_datasets_validation_split_whatever_split_says(tmp_path) -> None:
    import datasets

    texts, labels = make_corpus(60, seed=0)
    rows = datasets.Dataset.from_dict({"text": texts, "label": labels})
    datasets.DatasetDict({"train": rows, "test": rows}).save_to_disk(str(tmp_path / "dd"))
    result = run("train", tmp_path / "dd", "--split", "train", "--valid", tmp_path / "dd", "--out", tmp_path / "m")
    assert_clean_error(result, "has no split 'validation'", "--valid reads a dataset's 'validation' split")
    assert not (tmp_path / "m").exists()


def test_a_root_folder_is_no_out(tmp_path) -> None:
    write_csv(tmp_path / "d.csv", 12, seed=0)
    result = run("train", tmp_path / "d.csv", "--out", "/")
    assert_clean_error(result, "cannot write a model to /: it is a root folder")


def test_quoting_none_trains_and_evaluates_a_plain_tsv_line_for_line(tmp_path) -> None:
    """GLUE-style TSV: quote marks are text. CSV quoting would join the lines after `"striker`."""
    texts, labels = make_corpus(90, seed=3)
    texts = [f'"{text}' if i % 10 == 0 else text for i, text in enumerate(texts)]  # an opening quote, never closed
    (tmp_path / "plain.tsv").write_text(
        "text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in zip(texts, labels, strict=True)), encoding="utf-8"
    )
    trained = run("train", tmp_path / "plain.tsv", "--out", tmp_path / "m", *TRAIN_OPTIONS, "--quoting", "none")
    assert trained.exit_code == 0, trained.output
    result = run("eval", tmp_path / "m", tmp_path / "plain.tsv", "--quoting", "none", "--output", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e.json").read_text())["n"] == 90
    assert '"' in json.loads((tmp_path / "m" / "tokenizer.json").read_text())["model"]["vocab"]
    (tmp_path / "plain.jsonl").write_text('{"text": "a", "label": "b"}\n', encoding="utf-8")
    refused = run("train", tmp_path / "plain.jsonl", "--out", tmp_path / "m2", "--quoting", "none")
    assert_clean_error(refused, "--quoting applies to CSV/TSV files")
    # Validation rows in another format: --quoting reads the TSV and leaves the JSON lines alone.
    valid_texts, valid_labels = make_corpus(30, seed=4)
    (tmp_path / "valid.jsonl").write_text(
        "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(valid_texts, valid_labels, strict=True))
    )
    options = ["--valid", tmp_path / "valid.jsonl", "--quoting", "none"]
    mixed = run("train", tmp_path / "plain.tsv", "--out", tmp_path / "m3", *TRAIN_OPTIONS, *options)
    assert mixed.exit_code == 0, mixed.output
