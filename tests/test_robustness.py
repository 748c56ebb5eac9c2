"""Issue 6 through the CLI: bad input, interruption and resume, model files that cannot run code.

Every failure must end with exit status != 0, exactly one `Error:` line on stderr naming the
problem, no traceback, and no partial output left behind.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import datasets
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import SMALL, make_corpus
from safetensors.torch import load_file

import textcnn.training.epoch
from textcnn.cli.main import cli

FAST = {**SMALL, "epochs": 3, "patience": 10}
TRAIN_OPTIONS = [
    *("--embedding-dim", str(FAST["embedding_dim"]), "--num-filters", str(FAST["num_filters"])),
    *("--batch-size", str(FAST["batch_size"]), "--lr", str(FAST["lr"])),
    *("--epochs", str(FAST["epochs"]), "--patience", str(FAST["patience"]), "--device", "cpu"),
]
N_ROWS = 150  # 135 training rows after the 10% validation split: 9 steps of 16 per epoch
STEPS_PER_EPOCH = -(-(N_ROWS - N_ROWS // 10) // FAST["batch_size"])


def run(*args: object, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def assert_clean_error(result, *fragments: str, code: int = 1) -> str:
    """Exit status, no traceback, and one stderr line `Error: ...` holding every fragment."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_nothing_written(folder: Path, *expected: str) -> None:
    """`folder` holds exactly `expected`: no output, no temp file or folder (hidden ones too)."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)


def write_csv(path: Path, texts: list[str], labels: list, **to_csv) -> Path:
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False, **to_csv)
    return path


@pytest.fixture()
def train_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "train.csv", *make_corpus(N_ROWS, seed=1))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("model")
    write_csv(root / "train.csv", *make_corpus(N_ROWS, seed=1))
    result = run("train", root / "train.csv", "--out", root / "model", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    return root / "model"


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("name", "message"), [("absent.csv", "file not found"), ("absent/", "folder not found")])
def test_missing_file_or_folder(tmp_path, name: str, message: str) -> None:
    source = f"{tmp_path}/{name}"
    assert_clean_error(run("train", source, "--out", tmp_path / "m"), message, "absent")
    assert_nothing_written(tmp_path)


def test_unsupported_extension(tmp_path) -> None:
    (tmp_path / "data.xlsx").write_bytes(b"PK\x03\x04")
    assert_clean_error(run("train", tmp_path / "data.xlsx", "--out", tmp_path / "m"), "unsupported file type '.xlsx'")
    assert_nothing_written(tmp_path, "data.xlsx")


@pytest.mark.parametrize(("content", "message"), [("", "is empty"), ("text,label\n", "has no data rows")])
def test_empty_or_header_only_file(tmp_path, content: str, message: str) -> None:
    (tmp_path / "d.csv").write_text(content)
    assert_clean_error(run("train", tmp_path / "d.csv", "--out", tmp_path / "m"), "d.csv", message)
    assert_nothing_written(tmp_path, "d.csv")


@pytest.mark.parametrize(
    ("option", "kind"), [("--text-column", "text"), ("--label-column", "label")], ids=["text", "label"]
)
def test_unknown_column_lists_the_existing_ones(train_csv, tmp_path, option: str, kind: str) -> None:
    result = run("train", train_csv, "--out", tmp_path / "m", option, "body")
    assert_clean_error(result, f"no {kind} column 'body'", "columns are: text, label")
    assert_nothing_written(tmp_path, "train.csv")


def test_rows_with_missing_values_error_with_the_first_line_or_are_skipped(tmp_path, caplog) -> None:
    texts, labels = make_corpus(60, seed=0)
    texts[4], labels[9] = None, None
    write_csv(tmp_path / "d.csv", texts, labels)
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", *TRAIN_OPTIONS)
    assert_clean_error(result, "d.csv", "2 row(s) have a missing text or label", "line 6 of d.csv", "--on-bad-rows")
    assert_nothing_written(tmp_path, "d.csv")
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", "--on-bad-rows", "skip", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    assert "skipped 2 of 60 rows" in caplog.text


def test_file_that_is_not_utf8_names_the_line_and_reads_with_encoding(tmp_path) -> None:
    texts, labels = make_corpus(60, seed=0)
    texts[6] = "un café crème " + texts[6]
    write_csv(tmp_path / "latin.csv", texts, labels, encoding="latin-1")
    result = run("train", tmp_path / "latin.csv", "--out", tmp_path / "m", *TRAIN_OPTIONS)
    assert_clean_error(result, "latin.csv is not valid utf-8: line 8, byte 7 (0xe9)", "--encoding")
    assert_nothing_written(tmp_path, "latin.csv")
    result = run("train", tmp_path / "latin.csv", "--out", tmp_path / "m", "--encoding", "latin-1", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    assert "café" in (tmp_path / "m" / "tokenizer.json").read_text(encoding="utf-8")


def test_predict_on_a_file_that_is_not_utf8(model_dir, tmp_path) -> None:
    (tmp_path / "in.txt").write_bytes(b"a good match\nun caf\xe9\n")
    result = run("predict", model_dir, tmp_path / "in.txt", "--output", tmp_path / "p.jsonl")
    assert_clean_error(result, "in.txt is not valid utf-8: line 2", "--encoding")
    assert_nothing_written(tmp_path, "in.txt")
    result = run("predict", model_dir, tmp_path / "in.txt", "--output", tmp_path / "p.jsonl", "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 2


def test_a_jsonl_file_that_is_not_utf8_is_a_clean_error_in_train_and_eval(model_dir, tmp_path) -> None:
    rows = [{"text": text, "label": label} for text, label in zip(*make_corpus(40, seed=0), strict=True)]
    rows[3]["text"] = "un café " + rows[3]["text"]
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (tmp_path / "latin.jsonl").write_bytes(lines.encode("latin-1"))
    for result in (
        run("train", tmp_path / "latin.jsonl", "--out", tmp_path / "m", *TRAIN_OPTIONS),
        run("eval", model_dir, tmp_path / "latin.jsonl"),
    ):
        assert_clean_error(result, "latin.jsonl is not valid utf-8: line 4", "--encoding")
    assert_nothing_written(tmp_path, "latin.jsonl")
    result = run("eval", model_dir, tmp_path / "latin.jsonl", "--encoding", "latin-1")
    assert result.exit_code == 0, result.output


def test_texts_that_are_numbers_train_as_their_text(tmp_path) -> None:
    """A CSV column of numbers arrives as integers, a JSONL one as mixed values: both are text."""
    texts, labels = make_corpus(60, seed=0)
    write_csv(tmp_path / "d.csv", [str(1000 + i) for i in range(60)], labels)
    rows = [
        {"text": 4242 if i == 5 else text, "label": label}
        for i, (text, label) in enumerate(zip(texts, labels, strict=True))
    ]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    for name in ("d.csv", "d.jsonl"):
        result = run("train", tmp_path / name, "--out", tmp_path / f"m-{name}", *TRAIN_OPTIONS)
        assert result.exit_code == 0, result.output
    vocabulary = json.loads((tmp_path / "m-d.jsonl" / "tokenizer.json").read_text())["model"]["vocab"]
    assert "4242" in vocabulary and '"' not in vocabulary


def test_the_same_column_for_text_and_label_is_an_error(model_dir, train_csv, tmp_path) -> None:
    result = run("train", train_csv, "--out", tmp_path / "m", "--label-column", "text")
    assert_clean_error(result, "--text-column and --label-column both name 'text'")
    assert_clean_error(run("eval", model_dir, train_csv, "--text-column", "label"), "both name 'label'")
    assert_nothing_written(tmp_path, "train.csv")


def test_a_malformed_csv_names_the_parser_problem(model_dir, tmp_path) -> None:
    texts, labels = make_corpus(20, seed=0)
    write_csv(tmp_path / "d.csv", texts, labels)
    with (tmp_path / "d.csv").open("a") as handle:
        handle.write("some text,food,an extra field\n")
    assert_clean_error(run("eval", model_dir, tmp_path / "d.csv"), "could not read", "Expected 2 fields in line 22")


def test_out_under_a_file_fails_before_training(train_csv, tmp_path, monkeypatch) -> None:
    (tmp_path / "afile").write_text("")
    monkeypatch.setattr(textcnn.training.epoch, "pad_batch", None)  # any training step would crash
    result = run("train", train_csv, "--out", tmp_path / "afile" / "m", *TRAIN_OPTIONS)
    assert_clean_error(result, "afile is a file, not a folder")
    assert_nothing_written(tmp_path, "train.csv", "afile")


def test_eval_checks_its_output_folder_before_evaluating(model_dir, train_csv, tmp_path) -> None:
    result = run("eval", model_dir, train_csv, "--output", tmp_path / "absent" / "metrics.json")
    assert_clean_error(result, "output folder does not exist")
    assert "accuracy" not in result.stdout  # no report printed first


def test_eval_matches_labels_read_as_strings_to_a_model_trained_on_numbers(tmp_path) -> None:
    """JSON lines keep "10" a string where a CSV reader guesses 10: the same class either way."""
    texts, labels = make_corpus(N_ROWS, seed=1)
    codes = {name: 10 * (i + 1) for i, name in enumerate(sorted(set(labels)))}
    write_csv(tmp_path / "train.csv", texts, [codes[label] for label in labels])  # read back as int64
    assert run("train", tmp_path / "train.csv", "--out", tmp_path / "m", *TRAIN_OPTIONS).exit_code == 0
    test_texts, test_labels = make_corpus(40, seed=2)
    write_csv(tmp_path / "test.csv", test_texts, [codes[label] for label in test_labels])
    rows = [{"text": t, "label": str(codes[label])} for t, label in zip(test_texts, test_labels, strict=True)]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    reports = []
    for name in ("test.csv", "test.jsonl"):
        result = run("eval", tmp_path / "m", tmp_path / name, "--output", tmp_path / f"{name}.json")
        assert result.exit_code == 0, result.output
        reports.append(json.loads((tmp_path / f"{name}.json").read_text()))
    assert reports[1]["n"] == 40 and not reports[1]["unseen_labels"]
    assert reports[1] == reports[0]


def test_a_model_path_that_is_a_file_says_so(train_csv) -> None:
    assert_clean_error(run("eval", train_csv, train_csv), "train.csv is a file, not a model directory")


def test_a_single_class_is_an_error(tmp_path) -> None:
    write_csv(tmp_path / "one.csv", ["a b", "c d", "e f", "g h"], ["x"] * 4)
    assert_clean_error(run("train", tmp_path / "one.csv", "--out", tmp_path / "m"), "single class ('x')")
    assert_nothing_written(tmp_path, "one.csv")


def test_a_label_seen_once_trains(tmp_path) -> None:
    texts, labels = make_corpus(60, seed=0)
    write_csv(tmp_path / "d.csv", [*texts, "a lone example"], [*labels, "rare"])
    result = run("train", tmp_path / "d.csv", "--out", tmp_path / "m", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "labels.json").read_text()) == ["food", "rare", "sports", "tech"]


def test_eval_reports_unknown_labels_and_scores_the_rest(model_dir, tmp_path) -> None:
    texts, labels = make_corpus(30, seed=5)
    labels[:3] = ["weather", "weather", "music"]
    write_csv(tmp_path / "test.csv", texts, labels)
    result = run("eval", model_dir, tmp_path / "test.csv", "--output", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    assert "never saw were not scored: music (1), weather (2)" in result.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n"] == 27 and metrics["unseen_labels"] == {"weather": 2, "music": 1}
    write_csv(tmp_path / "alien.csv", ["x y", "z w"], ["weather", "music"])
    result = run("eval", model_dir, tmp_path / "alien.csv", "--output", tmp_path / "a.json")
    assert_clean_error(result, "none of the evaluation labels are known", "music, weather")
    assert not (tmp_path / "a.json").exists()


TEN_MB_LINE = "goal " * 2_100_000  # 10.5 MB, one line


def test_a_10mb_line_trains_and_predicts(model_dir, tmp_path) -> None:
    texts, labels = make_corpus(60, seed=0)
    texts[0] = TEN_MB_LINE
    write_csv(tmp_path / "long.csv", texts, labels)
    result = run("train", tmp_path / "long.csv", "--out", tmp_path / "m", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    (tmp_path / "long.txt").write_text(f"a chef\n{TEN_MB_LINE}\nthe striker\n")
    result = run("predict", model_dir, tmp_path / "long.txt", "--output", tmp_path / "p.jsonl")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 3


def test_a_10mb_line_costs_no_more_memory_than_a_short_one(tmp_path) -> None:
    """Peak memory of two `textcnn train` processes, without and with a 10 MB line (was +700 MB)."""
    resource = pytest.importorskip("resource")
    kib = 1024 if sys.platform == "darwin" else 1  # ru_maxrss is in bytes on macOS, KiB on Linux
    texts, labels = make_corpus(60, seed=0)
    write_csv(tmp_path / "short.csv", texts, labels)
    write_csv(tmp_path / "long.csv", [TEN_MB_LINE, *texts[1:]], labels)
    repo = str(Path(textcnn.training.epoch.__file__).parents[2])
    paths = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))  # keep the caller's site dirs
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": paths}
    peaks = []
    for name in ("short", "long"):
        command = [sys.executable, "-m", "textcnn.cli", "train", tmp_path / f"{name}.csv", "--out", tmp_path / name]
        options = ["--epochs", "1", "--embedding-dim", "8", "--num-filters", "4", "--device", "cpu"]
        subprocess.run([*command, *options], env=env, check=True, capture_output=True)
        peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // kib)  # the largest child so far
    assert peaks[1] - peaks[0] < 150 * 1024, peaks


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "model.safetensors is missing"),
        ("corrupt-weights", "model.safetensors is corrupt"),
        ("corrupt-config", "config.json is corrupt"),
        ("newer", "newer than this textcnn reads"),
    ],
)
@pytest.mark.parametrize("command", ["eval", "predict"])
def test_broken_model_directory(model_dir, tmp_path, damage: str, message: str, command: str) -> None:
    broken = Path(shutil.copytree(model_dir, tmp_path / "model"))
    if damage == "missing":
        (broken / "model.safetensors").unlink()
    elif damage == "corrupt-weights":
        (broken / "model.safetensors").write_bytes(b"\x00not safetensors")
    elif damage == "corrupt-config":
        (broken / "config.json").write_text('{"format_version": 1, "model": {')
    else:
        config = json.loads((broken / "config.json").read_text())
        (broken / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    write_csv(tmp_path / "d.csv", *make_corpus(6, seed=0))
    result = run(command, broken, tmp_path / "d.csv", "--output", tmp_path / "out.json")
    assert_clean_error(result, message)
    assert_nothing_written(tmp_path, "model", "d.csv")


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("train", "--kernel-sizes", "0"),
        ("train", "--dropout", "-0.5"),
        ("train", "--epochs", "0"),
        ("train", "--lr", "0"),
        ("train", "--max-length", "0"),
        ("train", "--kernel-sizes", "3,,5"),
        ("predict", "--top-k", "0"),
        ("predict", "--encoding", "klingon"),
    ],
)
def test_invalid_option_values_are_usage_errors(model_dir, train_csv, tmp_path, command, option, value) -> None:
    if command == "train":
        result = run("train", train_csv, "--out", tmp_path / "m", option, value)
    else:
        result = run("predict", model_dir, train_csv, "--output", tmp_path / "p", option, value)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and option in result.stderr
    assert_nothing_written(tmp_path, "train.csv")


# ----------------------------------------------------------------------- interruption and resume
posix_signals = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def send_signal_during_step(monkeypatch, signum: int, step: int) -> None:
    """Deliver a real signal to this process while training step number `step` (from 1) runs."""
    original, calls = textcnn.training.epoch.pad_batch, [0]

    def pad_batch(*args, **kwargs):
        calls[0] += 1
        if calls[0] == step:
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    monkeypatch.setattr(textcnn.training.epoch, "pad_batch", pad_batch)


def weights(model: Path) -> dict[str, torch.Tensor]:
    return load_file(str(model / "model.safetensors"))


def validated_epochs(model: Path) -> list[dict]:
    """The epochs of `metrics.jsonl` that were validated, without the refit's that follow them."""
    return [record for record in epochs(model) if not record.get("refit")]


def epochs(model: Path) -> list[dict]:
    return [
        {k: v for k, v in json.loads(line).items() if k != "seconds"}
        for line in (model / "metrics.jsonl").read_text().splitlines()
    ]


@posix_signals
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_the_best_model_and_resume_matches_an_uninterrupted_run(
    train_csv, tmp_path, monkeypatch, signum: int
) -> None:
    assert run("train", train_csv, "--out", tmp_path / "full", *TRAIN_OPTIONS).exit_code == 0

    step = STEPS_PER_EPOCH + 4  # during epoch 2
    with monkeypatch.context() as patch:
        send_signal_during_step(patch, signum, step)
        result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS)
    assert result.exit_code == 128 + signum
    assert "Traceback" not in result.output
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Interrupted: saved the best model so far (best epoch 1")
    assert "run the same command again with --resume" in message
    # The step in flight was finished: the checkpoint holds `step` steps, epoch 1 + 4 of epoch 2.
    state = json.loads((tmp_path / "run.checkpoint" / "checkpoint.json").read_text())
    assert (state["epoch"], state["step"]) == divmod(step, STEPS_PER_EPOCH)
    assert epochs(tmp_path / "run") == epochs(tmp_path / "full")[:1]
    assert_nothing_written(tmp_path, "train.csv", "full", "run", "run.checkpoint")

    result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS)
    assert_clean_error(result, "unfinished run", "--resume", "--overwrite")

    result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS, "--resume")
    assert result.exit_code == 0, result.output
    full, resumed = weights(tmp_path / "full"), weights(tmp_path / "run")
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[name], resumed[name]) for name in full)
    assert epochs(tmp_path / "run") == epochs(tmp_path / "full")
    assert_nothing_written(tmp_path, "train.csv", "full", "run")  # the checkpoint is gone once finished


@posix_signals
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_second_signal_aborts_with_the_signals_exit_status_and_keeps_the_last_checkpoint(
    train_csv, tmp_path, monkeypatch, signum: int
) -> None:
    original, calls = textcnn.training.epoch.pad_batch, [0]

    def pad_batch(*args, **kwargs):  # both signals during one step of epoch 2
        calls[0] += 1
        if calls[0] == STEPS_PER_EPOCH + 2:
            os.kill(os.getpid(), signum)
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    monkeypatch.setattr(textcnn.training.epoch, "pad_batch", pad_batch)
    result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS)
    assert result.exit_code == 128 + signum  # click's own abort would give 1
    assert "Traceback" not in result.output and result.stderr.strip().endswith("Aborted.")
    state = json.loads((tmp_path / "run.checkpoint" / "checkpoint.json").read_text())
    assert (state["epoch"], state["step"]) == (1, 0)  # the end of epoch 1
    assert not (tmp_path / "run").exists()


@posix_signals
def test_a_signal_during_the_refit_saves_the_validated_model_and_resume_finishes_the_refit(
    train_csv, tmp_path, monkeypatch
) -> None:
    result = run("train", train_csv, "--out", tmp_path / "full", *TRAIN_OPTIONS)
    assert result.exit_code == 0 and "then refit on all training rows" in result.stderr
    refit_steps_per_epoch = -(-N_ROWS // FAST["batch_size"])
    step = len(validated_epochs(tmp_path / "full")) * STEPS_PER_EPOCH + refit_steps_per_epoch + 2  # refit epoch 2
    with monkeypatch.context() as patch:
        send_signal_during_step(patch, signal.SIGTERM, step)
        result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS)
    assert result.exit_code == 128 + signal.SIGTERM
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Interrupted: saved the validated model (best epoch")
    assert "the refit on all rows was stopped" in message and "--resume" in message
    validated = run("train", train_csv, "--out", tmp_path / "validated", *TRAIN_OPTIONS, "--refit", "never")
    assert validated.exit_code == 0 and "then refit" not in validated.stderr
    saved, expected = weights(tmp_path / "run"), weights(tmp_path / "validated")
    assert all(torch.equal(saved[name], expected[name]) for name in expected)

    result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS, "--resume")
    assert result.exit_code == 0, result.output
    full, resumed = weights(tmp_path / "full"), weights(tmp_path / "run")
    assert all(torch.equal(full[name], resumed[name]) for name in full)
    assert_nothing_written(tmp_path, "train.csv", "full", "run", "validated")


@posix_signals
def test_a_signal_before_the_first_epoch_ends_writes_no_model(train_csv, tmp_path, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        send_signal_during_step(patch, signal.SIGINT, 2)
        result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS)
    assert result.exit_code == 130
    assert "Interrupted: no epoch finished" in result.stderr
    assert_nothing_written(tmp_path, "train.csv", "run.checkpoint")
    result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS, "--resume")
    assert result.exit_code == 0, result.output
    assert_nothing_written(tmp_path, "train.csv", "run")


def test_resume_without_a_checkpoint_is_an_error(model_dir, train_csv, tmp_path) -> None:
    result = run("train", train_csv, "--out", tmp_path / "m", "--resume")
    assert_clean_error(result, "nothing to resume", "m.checkpoint")
    assert_nothing_written(tmp_path, "train.csv")
    assert_clean_error(run("train", train_csv, "--out", model_dir, "--resume"), "the run there finished")


@posix_signals
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_resume_refuses_a_tampered_optimizer_state(train_csv, tmp_path, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        send_signal_during_step(patch, signal.SIGINT, STEPS_PER_EPOCH + 1)
        assert run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS).exit_code == 130
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    (tmp_path / "run.checkpoint" / "optimizer.pt").write_bytes(pickle.dumps(_Exploit()))
    result = run("train", train_csv, "--out", tmp_path / "run", *TRAIN_OPTIONS, "--resume")
    assert_clean_error(result, "optimizer.pt", "never fully unpickled")
    assert not marker.exists()


def test_an_existing_model_needs_overwrite_and_other_files_are_never_replaced(model_dir, train_csv, tmp_path) -> None:
    assert_clean_error(run("train", train_csv, "--out", model_dir), "already holds a model", "--overwrite")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    result = run("train", train_csv, "--out", tmp_path / "mine", "--overwrite")
    assert_clean_error(result, "already exists and holds other files")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_overwrite_replaces_the_model_as_a_whole(model_dir, train_csv, tmp_path) -> None:
    target = Path(shutil.copytree(model_dir, tmp_path / "model"))
    (target / "metrics.jsonl").write_text("stale\n")
    result = run("train", train_csv, "--out", target, "--overwrite", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    assert len(validated_epochs(target)) == FAST["epochs"]
    assert_nothing_written(tmp_path, "train.csv", "model")


# ------------------------------------------------------------------------------------------ safety
class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('x')",))


def test_model_directory_holds_only_json_and_safetensors_and_ignores_planted_pickles(
    model_dir, tmp_path, monkeypatch
) -> None:
    # curves.png, the training-curve plot, is written when matplotlib is installed
    assert {p.suffix for p in model_dir.iterdir()} - {".png"} == {".json", ".jsonl", ".safetensors"}
    planted = Path(shutil.copytree(model_dir, tmp_path / "model"))
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    for name in ("pytorch_model.bin", "model.pt", "optimizer.pt", "training_args.bin"):
        (planted / name).write_bytes(pickle.dumps(_Exploit()))
    (tmp_path / "in.txt").write_text("a good match\n")
    result = run("predict", planted, tmp_path / "in.txt", "--output", tmp_path / "p.jsonl")
    assert result.exit_code == 0, result.output
    assert not marker.exists()


def test_hub_datasets_load_without_remote_code(tmp_path, monkeypatch) -> None:
    calls = []
    texts, labels = make_corpus(60, seed=0)

    def fake_load_dataset(path, *args, **kwargs):
        calls.append((path, kwargs))
        return datasets.Dataset.from_dict({"text": texts, "label": labels})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = run("train", "someone/reviews", "--out", tmp_path / "m", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    assert [path for path, _ in calls] == ["someone/reviews"]
    assert calls[0][1]["trust_remote_code"] is False
