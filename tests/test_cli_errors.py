"""Library errors name the Python parameter; the CLI prints the same errors with its flags."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from conftest import make_corpus

from textcnn import TextCNNClassifier
from textcnn.cli.errors import PARAMETER_FLAGS, FlagsInMessages, as_flags
from textcnn.cli.main import cli
from textcnn.data import load_source
from textcnn.errors import TextCNNError


def test_as_flags_writes_backticked_parameters_and_their_values_as_flags() -> None:
    assert as_flags("`freeze_features` requires `init_from`") == "--freeze-features requires --init-from"
    assert as_flags('pass `quoting="none"`') == "pass --quoting none"
    assert as_flags("pass `embedding_dim=16` or leave it out") == "pass --embedding-dim 16 or leave it out"
    assert as_flags("pass `overwrite=True` to replace it") == "pass --overwrite to replace it"
    # Starting over instead of resuming is --overwrite in the CLI, which keeps a checkpoint otherwise.
    assert as_flags("start over with `resume=False`") == "start over with --overwrite"
    # Not a parameter: left as written; no backticks, nothing to rewrite (a path naming a parameter stays).
    assert as_flags("written by `save_to_disk`") == "written by `save_to_disk`"
    assert as_flags("runs/init_from/out is a file") == "runs/init_from/out is a file"


def test_every_flag_of_the_table_is_an_option_of_some_command() -> None:
    options = {opt for command in cli.commands.values() for param in command.params for opt in param.opts}
    assert set(PARAMETER_FLAGS.values()) <= options


def test_the_python_error_names_the_parameter_and_the_cli_error_the_flag(tmp_path) -> None:
    texts, labels = make_corpus(30, seed=0)
    with pytest.raises(TextCNNError) as python_error:
        TextCNNClassifier(freeze_features=True).fit(texts, labels)
    assert "`freeze_features` requires `init_from`" in str(python_error.value)
    assert "--" not in str(python_error.value)

    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels, strict=True)))
    result = CliRunner().invoke(cli, ["train", str(data), "--out", str(tmp_path / "m"), "--freeze-features"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: --freeze-features requires --init-from"), line
    assert "`" not in line and "freeze_features" not in line


def test_a_data_error_names_split_in_python_and_split_flag_in_the_cli(tmp_path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("text,label\ngood,pos\nbad,neg\n")
    from textcnn.data import check_source_options

    with pytest.raises(TextCNNError, match="`split` does not apply to .*; leave `split` out"):
        check_source_options(data, split="test", dataset_config=None)
    assert len(load_source(data)) == 2
    result = CliRunner().invoke(cli, ["eval", str(tmp_path / "model"), str(data), "--split", "test"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "Error: --split does not apply to" in line and "leave --split out" in line, line


def test_log_messages_get_flags_only_through_the_cli_handler_filter() -> None:
    record = logging.LogRecord(
        "textcnn.data.loaders", logging.WARNING, __file__, 1, "%s: pass `quoting=%s`", ("a.tsv", '"none"'), None
    )
    assert FlagsInMessages().filter(record)
    assert record.getMessage() == "a.tsv: pass --quoting none"
    other = logging.LogRecord("gensim", logging.WARNING, __file__, 1, "pass `quoting`", None, None)
    FlagsInMessages().filter(other)
    assert other.getMessage() == "pass `quoting`"
