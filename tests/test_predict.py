"""Batch prediction: every input and output format, stdin/stdout, order, kept columns, top-k,
empty texts, atomic output, thread settings, and the streaming Python entry point."""

from __future__ import annotations

import json
import os
import random
import stat

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner
from conftest import make_corpus

import textcnn.prediction.engines as engines
import textcnn.prediction.stream as prediction
from textcnn.cli.main import cli
from textcnn.errors import TextCNNError
from textcnn.prediction.stream import iter_predictions, predict_file

CLASSES = ["food", "sports", "tech"]


@pytest.fixture(scope="module")
def model_dir(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("predict") / "model")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    texts, _ = make_corpus(30, seed=5)
    texts[4] = ""  # an empty text is a row like any other
    return texts


def run(*args: object, input: str | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def expected(fitted, texts: list[str]) -> np.ndarray:
    return fitted.predict_proba(texts)


def write_input(path, fmt: str, texts: list[str]) -> None:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "body": texts})
    if fmt == "txt":
        path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    elif fmt in ("csv", "tsv"):
        frame.to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)


def read_table(path, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", keep_default_na=False)


@pytest.mark.parametrize("fmt", ["txt", "csv", "tsv", "jsonl", "parquet"])
def test_every_input_format_gives_one_prediction_per_row_in_order(fitted, texts, tmp_path, fmt) -> None:
    source = tmp_path / f"in.{fmt}"
    write_input(source, fmt, texts)
    out = tmp_path / "out.jsonl"
    rows = predict_file(fitted, source, out, text_column="body", chunk_rows=7, batch_size=4)
    records = read_jsonl(out)
    probs = expected(fitted, texts)
    assert rows == len(records) == len(texts)
    assert [r["label"] for r in records] == [CLASSES[i] for i in probs.argmax(axis=1)]
    np.testing.assert_allclose([r["score"] for r in records], probs.max(axis=1), atol=1e-5)
    assert all(r["top_k"] == [{"label": r["label"], "score": r["score"]}] for r in records)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv", "parquet"])
def test_every_output_format_holds_labels_top_k_and_probabilities(fitted, texts, tmp_path, fmt) -> None:
    source = tmp_path / "in.csv"
    write_input(source, "csv", texts)
    out = tmp_path / f"out.{fmt}"
    predict_file(
        fitted, source, out, text_column="body", keep_columns=["id"], top_k=3, probabilities=True, chunk_rows=8
    )
    probs = expected(fitted, texts)
    ranked = np.argsort(-probs, axis=1, kind="stable")
    ids = [f"r{i}" for i in range(len(texts))]
    if fmt == "jsonl":
        records = read_jsonl(out)
        assert list(records[0]) == ["id", "label", "score", "top_k", "probabilities"]
        assert [r["id"] for r in records] == ids
        for record, row, order in zip(records, probs, ranked, strict=True):
            assert [t["label"] for t in record["top_k"]] == [CLASSES[i] for i in order]
            np.testing.assert_allclose([t["score"] for t in record["top_k"]], row[order], atol=1e-6)
            assert list(record["probabilities"]) == CLASSES
            np.testing.assert_allclose(list(record["probabilities"].values()), row, atol=1e-6)
        return
    frame = read_table(out, fmt)
    prob_columns = [f"prob_{c}" for c in CLASSES]
    assert list(frame.columns) == ["id", "label", "score", "label_2", "score_2", "label_3", "score_3", *prob_columns]
    assert frame["id"].tolist() == ids
    for rank in range(3):
        suffix = "" if rank == 0 else f"_{rank + 1}"
        assert frame[f"label{suffix}"].tolist() == [CLASSES[i] for i in ranked[:, rank]]
        np.testing.assert_allclose(frame[f"score{suffix}"], probs[np.arange(len(probs)), ranked[:, rank]], atol=1e-6)
    np.testing.assert_allclose(frame[prob_columns].to_numpy(), probs, atol=1e-6)
    np.testing.assert_allclose(frame[prob_columns].sum(axis=1), 1.0, atol=1e-5)


def test_output_format_option_beats_the_suffix_and_unknown_suffixes_are_errors(fitted, texts, tmp_path) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", texts)
    predict_file(fitted, source, tmp_path / "preds.out", output_format="csv")
    assert len(pd.read_csv(tmp_path / "preds.out", keep_default_na=False)) == len(texts)
    with pytest.raises(TextCNNError, match="cannot tell the output format"):
        predict_file(fitted, source, tmp_path / "preds.xyz")
    assert not (tmp_path / "preds.xyz").exists()


def test_order_is_kept_although_batches_are_sorted_by_length(fitted, tmp_path) -> None:
    texts, _ = make_corpus(60, seed=9)
    rng = random.Random(3)
    texts = [" ".join([t] * rng.randint(1, 6)) for t in texts]  # lengths from ~5 to ~100 tokens
    rng.shuffle(texts)
    source = tmp_path / "in.txt"
    write_input(source, "txt", texts)
    out = tmp_path / "out.jsonl"
    predict_file(fitted, source, out, top_k=3, chunk_rows=16, batch_size=4)
    records = read_jsonl(out)
    alone = np.vstack([fitted.predict_proba([t]) for t in texts])  # each text on its own
    for record, row in zip(records, alone, strict=True):
        assert record["label"] == CLASSES[int(row.argmax())]
        np.testing.assert_allclose(sorted(t["score"] for t in record["top_k"]), sorted(row), atol=1e-5)


def test_empty_and_blank_lines_each_get_a_prediction(fitted, tmp_path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("chef pasta\n\n   \n\nstriker goal", encoding="utf-8")  # no final newline
    out = tmp_path / "out.jsonl"
    assert predict_file(fitted, source, out) == 5
    records = read_jsonl(out)
    assert len(records) == 5
    assert records[0]["label"] == "food" and records[4]["label"] == "sports"
    assert all(r["label"] in CLASSES and 0 < r["score"] <= 1 for r in records)


def test_missing_csv_cells_are_empty_texts(fitted, tmp_path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,chef pasta\n2,\n3,striker goal\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    predict_file(fitted, source, out, keep_columns=["id"])
    frame = pd.read_csv(out)
    assert frame["id"].tolist() == [1, 2, 3]
    assert frame["label"].tolist()[0] == "food" and frame["label"].tolist()[2] == "sports"
    assert frame["label"].tolist()[1] == CLASSES[int(fitted.predict_proba([""]).argmax())]


def test_quoting_none_predicts_a_plain_tsv_row_for_row(fitted, model_dir, tmp_path) -> None:
    source = tmp_path / "plain.tsv"
    texts = ['"chef" pasta', '"striker goal', 'tech "chip"']
    source.write_text("text\n" + "".join(t + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("predict", model_dir, source, "--quoting", "none", "--keep-all", "--output", out)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [r["text"] for r in records] == texts  # each line one row, its quote marks kept
    assert np.allclose([r["score"] for r in records], expected(fitted, texts).max(axis=1), atol=1e-6)
    refused = CliRunner().invoke(cli, ["predict", str(model_dir), str(out), "--quoting", "none"])
    assert refused.exit_code == 1
    assert (
        refused.output.strip().splitlines()[-1]
        == "Error: --quoting applies to CSV/TSV input, not to jsonl: leave it out"
    )


def test_keep_all_renames_a_clashing_key_alike_whatever_the_chunking(model_dir, tmp_path) -> None:
    """`label` clashes with the output's label and `input_label` is taken: input_input_label in
    every row, also when the chunk holding `label` lacks `input_label`."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "chef", "input_label": "x"}\n{"text": "goal", "label": "L"}\n', encoding="utf-8")
    for chunk_rows in ("1", "8192"):
        result = run("predict", model_dir, source, "--keep-all", "--chunk-rows", chunk_rows)
        assert result.exit_code == 0, result.output
        second = json.loads(result.stdout.splitlines()[1])
        assert second["input_input_label"] == "L" and "input_label" not in second, chunk_rows


def test_a_plain_tsv_read_with_csv_quoting_warns_in_predict_too(model_dir, tmp_path, caplog) -> None:
    source = tmp_path / "plain.tsv"
    source.write_text('text\n"chef pasta\nstriker goal"\ntech chip\n', encoding="utf-8")
    with caplog.at_level("WARNING", logger="textcnn.data.loaders"):
        rows = predict_file(model_dir, source, tmp_path / "out.jsonl")
    assert rows == 2  # the quotes joined two lines
    assert "plain.tsv has 3 data lines but gave 2 rows" in caplog.text


def test_keep_columns_renames_clashes_and_keep_all_copies_everything(fitted, tmp_path) -> None:
    texts, labels = make_corpus(12, seed=4)
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": range(12), "text": texts, "label": labels, "extra": ["x"] * 12}).to_csv(source, index=False)
    out = tmp_path / "kept.jsonl"
    predict_file(fitted, source, out, keep_columns=["label", "id"])
    records = read_jsonl(out)
    assert list(records[0]) == ["input_label", "id", "label", "score", "top_k"]
    assert [r["id"] for r in records] == [str(i) for i in range(12)]  # CSV columns are text
    assert [r["input_label"] for r in records] == labels
    everything = tmp_path / "all.parquet"
    predict_file(fitted, source, everything, keep_all=True)
    table = pq.read_table(everything)
    assert table.column_names == ["id", "text", "input_label", "extra", "label", "score"]
    assert table.column("text").to_pylist() == texts
    assert table.schema.metadata is None or b"huggingface" not in table.schema.metadata


def test_unknown_keep_column_is_a_one_line_error(model_dir, tmp_path) -> None:
    source = tmp_path / "in.csv"
    write_input(source, "csv", ["a", "b"])
    result = run("predict", model_dir, source, "--text-column", "body", "--keep-columns", "id,nope")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "no column 'nope' to keep; columns are: id, body" in result.output
    result = run("predict", model_dir, source, "--keep-columns", "id", "--keep-all")
    assert result.exit_code == 1 and "either --keep-columns or --keep-all" in result.output


def test_top_k_lists_the_best_labels_and_stops_at_the_number_of_classes(model_dir, tmp_path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("chef pasta\nrobot chip\n", encoding="utf-8")
    result = run("predict", model_dir, source, "--top-k", "10")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record in records:
        assert len(record["top_k"]) == 3
        scores = [t["score"] for t in record["top_k"]]
        assert scores == sorted(scores, reverse=True)
        assert sorted(t["label"] for t in record["top_k"]) == CLASSES
        assert sum(scores) == pytest.approx(1.0, abs=1e-5)


def test_stdin_text_lines_to_stdout_as_jsonl_and_csv(model_dir) -> None:
    lines = "the chef cooked pasta\n\nthe striker scored a goal\r\n"
    result = run("predict", model_dir, "-", input=lines)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["label"] for r in records[::2]] == ["food", "sports"]
    assert len(records) == 3
    result = run("predict", model_dir, "-", "--output-format", "csv", "--keep-all", input=lines)
    assert result.exit_code == 0, result.output
    csv_lines = result.stdout.splitlines()
    assert csv_lines[0] == '"text","label","score"'
    assert csv_lines[1].startswith('"the chef cooked pasta","food",')
    assert csv_lines[2].startswith('"","')
    assert len(csv_lines) == 4


def test_stdin_jsonl_keeps_columns_and_predicts_missing_texts(model_dir, tmp_path) -> None:
    rows = [
        {"id": 1, "text": "robot chip laptop", "note": None},
        {"id": 2},
        {"id": 3, "text": "goal match", "note": "n"},
    ]
    stdin = "\n".join(json.dumps(r) for r in rows) + "\n\n"
    out = tmp_path / "out.parquet"
    result = run(
        "predict", model_dir, "-", "--input-format", "jsonl", "--keep-all", "--output", out, "--chunk-rows", "2",
        input=stdin,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 3 predictions" in result.stderr
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == [1, 2, 3]
    # "note" is all-missing in the first chunk (type null): the output column becomes text
    assert table.column_names == ["id", "text", "note", "label", "score"]
    assert table.column("note").to_pylist() == [None, None, "n"]
    assert table.column("label").to_pylist()[::2] == ["tech", "sports"]


def test_a_column_that_appears_late_joins_every_output_from_a_file_and_is_a_clear_error_from_stdin(
    model_dir, tmp_path
) -> None:
    rows = [{"text": "chef"}, {"text": "goal"}, {"text": "chip", "note": "late"}]
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    args = ["predict", model_dir, "-", "--input-format", "jsonl", "--keep-all", "--chunk-rows", "2"]
    result = run(*args, input=stdin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[2])["note"] == "late"
    result = run(*args, "--output", tmp_path / "o.parquet", input=stdin)  # stdin cannot be read twice
    assert result.exit_code == 1
    assert "'note' first appears after row 2" in result.output
    assert list(tmp_path.iterdir()) == []

    source = tmp_path / "in.jsonl"  # a file's keys are read first, so the header has them all
    source.write_text(stdin, encoding="utf-8")
    for out in (tmp_path / "o.csv", tmp_path / "o.parquet"):
        result = run("predict", model_dir, source, "--keep-all", "--chunk-rows", "2", "--output", out)
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out, keep_default_na=False) if out.suffix == ".csv" else pd.read_parquet(out)
        assert table.columns.tolist()[:2] == ["text", "note"]
        assert table["note"].fillna("").tolist() == ["", "", "late"]


def test_jsonl_kept_values_come_back_exactly_whatever_the_chunking(model_dir, tmp_path) -> None:
    """Ids that turn from numbers to strings after a chunk, ints beside floats, objects with
    different keys: JSON lines out equal JSON lines in; CSV gets their text; Parquet says why not."""
    rows = [
        {"text": "chef", "id": 1, "x": 1, "meta": {"a": 1}},
        {"text": "goal", "id": 2, "x": 2.5},  # no "meta" key at all
        {"text": "chip", "id": "s3", "x": 3, "meta": {"b": [1, "é"]}},
        {"text": "pasta", "id": 4, "x": True, "meta": {"a": None}},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for chunk_rows in ("1", "2", "4"):
        result = run("predict", model_dir, source, "--keep-all", "--chunk-rows", chunk_rows)
        assert result.exit_code == 0, result.output
        out = [json.loads(line) for line in result.stdout.splitlines()]
        assert [{k: r[k] for k in ("text", "id", "x", "meta") if k in r} for r in out] == rows, chunk_rows

    csv_out = tmp_path / "o.csv"
    result = run("predict", model_dir, source, "--keep-all", "--chunk-rows", "2", "--output", csv_out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv_out, dtype=str, keep_default_na=False)
    assert table["id"].tolist() == ["1", "2", "s3", "4"]
    assert table["x"].tolist() == ["1", "2.5", "3", "true"]
    assert table["meta"].tolist() == ['{"a": 1}', "", '{"b": [1, "é"]}', '{"a": null}']

    for chunk_rows in ("1", "2", "4"):  # ids of two types: an error for Parquet however the rows are chunked
        parquet = tmp_path / "o.parquet"
        result = run(
            "predict", model_dir, source, "--keep-columns", "id", "--chunk-rows", chunk_rows, "--output", parquet
        )
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert "input column 'id'" in result.output and "write JSONL or CSV" in result.output
        assert not parquet.exists()


@pytest.mark.parametrize("name", ["in.txt.gz", "in.jsonl.bz2", "in.csv.xz"])
def test_compressed_input_is_read_like_plain_input(fitted, texts, tmp_path, name: str) -> None:
    import bz2
    import gzip
    import lzma

    plain = tmp_path / name[: name.rindex(".")]
    write_input(plain, plain.suffix[1:], texts)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[name[name.rindex(".") :]]
    with opener(tmp_path / name, "wb") as handle:
        handle.write(plain.read_bytes())
    out = tmp_path / "out.jsonl"
    column = "text" if plain.suffix == ".txt" else "body"
    assert predict_file(fitted, tmp_path / name, out, text_column=column) == len(texts)
    np.testing.assert_allclose([r["score"] for r in read_jsonl(out)], expected(fitted, texts).max(axis=1), atol=1e-6)


def test_csv_cells_of_json_numbers_do_not_depend_on_the_chunking(model_dir, tmp_path) -> None:
    rows = [{"text": "chef", "n": 4.0}, {"text": "goal", "n": 1e20}, {"text": "chip", "n": 3}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cells = []
    for chunk_rows in ("1", "3"):  # alone, 4.0 is a float column; beside 3, a mixed JSON one
        out = tmp_path / f"o{chunk_rows}.csv"
        result = run("predict", model_dir, source, "--keep-columns", "n", "--chunk-rows", chunk_rows, "--output", out)
        assert result.exit_code == 0, result.output
        cells.append(pd.read_csv(out, dtype=str)["n"].tolist())
    assert cells[0] == cells[1] == ["4.0", "1e+20", "3"]


def test_parquet_output_types_json_numbers_objects_and_sparse_keys(model_dir, tmp_path) -> None:
    rows = [
        {"text": "chef", "rating": 1, "meta": {"a": 1}},
        {"text": "goal", "rating": 2.5, "meta": [1, 2]},
        {"text": "chip", "rating": None, "note": "late"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "o.parquet"
    result = run("predict", model_dir, source, "--keep-columns", "rating,meta,note", "--output", out)
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column("rating").to_pylist() == [1.0, 2.5, None]  # JSON numbers: floats
    assert table.column("meta").to_pylist() == ['{"a": 1}', "[1, 2]", None]
    assert table.column("note").to_pylist() == [None, None, "late"]

    for chunk_rows in ("1", "2"):  # a key some rows lack is missing there, whatever the chunking
        result = run("predict", model_dir, source, "--keep-columns", "note", "--chunk-rows", chunk_rows)
        assert result.exit_code == 0, result.output
        notes = [json.loads(line).get("note", "(absent)") for line in result.stdout.splitlines()]
        assert notes == ["(absent)", "(absent)", "late"]  # as in the input
    result = run("predict", model_dir, source, "--keep-columns", "nope", "--chunk-rows", "1")
    assert result.exit_code == 1
    assert "no row of" in result.output and "has the column 'nope' to keep" in result.output


def test_stdin_accepts_only_text_or_jsonl(model_dir) -> None:
    result = run("predict", model_dir, "-", "--input-format", "csv", input="text\nhello\n")
    assert result.exit_code == 1
    assert "stdin is read as txt or jsonl" in result.output


def test_output_file_gets_the_usual_permissions(fitted, tmp_path) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", ["chef pasta"])
    umask = os.umask(0o022)
    os.umask(umask)
    predict_file(fitted, source, tmp_path / "out.jsonl")
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o666 & ~umask


def test_output_may_not_overwrite_the_input(fitted, tmp_path) -> None:
    source = tmp_path / "in.jsonl"
    write_input(source, "jsonl", ["chef pasta"])
    with pytest.raises(TextCNNError, match="is the input file"):
        predict_file(fitted, source, source, text_column="body")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_failure_after_the_first_chunk_leaves_no_output(fitted, texts, tmp_path, monkeypatch, fmt) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", texts)
    real = engines.predict_probabilities
    calls = []

    def fail_on_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("model crashed")
        return real(*args, **kwargs)

    monkeypatch.setattr(engines, "predict_probabilities", fail_on_second_chunk)
    out = tmp_path / f"out.{fmt}"
    with pytest.raises(RuntimeError, match="model crashed"):
        predict_file(fitted, source, out, chunk_rows=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no output, no temp file
    out.write_text("yesterday's predictions")
    calls.clear()
    with pytest.raises(RuntimeError, match="model crashed"):
        predict_file(fitted, source, out, chunk_rows=5)
    assert out.read_text() == "yesterday's predictions"


def test_a_reader_failure_mid_stream_is_a_clean_error_and_leaves_no_output(
    model_dir, texts, tmp_path, monkeypatch
) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", texts)
    real = prediction.read_chunks

    def broken_after_one_chunk(spec, chunk_rows):
        chunks = real(spec, chunk_rows)
        yield next(chunks)
        raise TextCNNError("could not read in.txt: corrupt block")

    monkeypatch.setattr(prediction, "read_chunks", broken_after_one_chunk)
    out = tmp_path / "out.csv"
    result = run("predict", model_dir, source, "--output", out, "--chunk-rows", "4")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "Error: could not read in.txt: corrupt block"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_thread_count_is_applied_during_the_run_and_restored(fitted, tmp_path, monkeypatch) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", ["chef pasta", "goal"])
    real = engines.predict_probabilities
    seen = []

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(engines, "predict_probabilities", spy)
    before = torch.get_num_threads()
    wanted = 2 if before != 2 else 1
    predict_file(fitted, source, tmp_path / "out.jsonl", num_threads=wanted)
    assert seen == [wanted]
    assert torch.get_num_threads() == before


def test_progress_bar_only_when_asked_or_on_a_terminal(fitted, tmp_path, capsys) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", ["chef pasta", "goal"])
    predict_file(fitted, source, tmp_path / "a.jsonl")  # stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""
    predict_file(fitted, source, tmp_path / "b.jsonl", show_progress=True)
    assert "rows/s" in capsys.readouterr().err


def test_quiet_cli_prints_nothing_on_stderr(model_dir, tmp_path) -> None:
    source = tmp_path / "in.txt"
    write_input(source, "txt", ["chef pasta"])
    result = run("predict", model_dir, source, "--output", tmp_path / "o.jsonl", "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 1


def test_iter_predictions_streams_probabilities_and_kept_columns(fitted, texts, tmp_path) -> None:
    source = tmp_path / "in.parquet"
    write_input(source, "parquet", texts)
    chunks = list(iter_predictions(fitted, source, text_column="body", keep_columns=["id"], chunk_rows=8))
    assert [len(c.probabilities) for c in chunks] == [8, 8, 8, 6]
    probs = np.vstack([c.probabilities for c in chunks])
    np.testing.assert_allclose(probs, expected(fitted, texts), atol=1e-5)
    assert [i for c in chunks for i in c.kept.column("id").to_pylist()] == [f"r{i}" for i in range(len(texts))]


def test_jsonl_rows_keep_non_ascii_text_and_write_other_values_as_strings() -> None:
    import datetime as dt
    import io

    import pyarrow as pa

    from textcnn.prediction.writers import JsonlWriter

    sink = io.BytesIO()
    writer = JsonlWriter(sink, classes=["négatif", "正面"], top_k=2, probabilities=True)
    kept = pa.table({"id": [1, 2], "day": [dt.date(2026, 11, 27), None], "note": ["café", "東京"]})
    writer.write(kept, np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32))
    lines = sink.getvalue().decode("utf-8").splitlines()
    assert "正面" in lines[0] and "\\u" not in lines[0]  # UTF-8 as is, not escaped
    first = json.loads(lines[0])
    assert first["day"] == "2026-11-27" and first["note"] == "café"  # a date has no JSON type: its str()
    assert first["label"] == "正面" and first["score"] == 0.75
    assert [t["label"] for t in first["top_k"]] == ["正面", "négatif"]
    assert first["probabilities"] == {"négatif": 0.25, "正面": 0.75}
    assert json.loads(lines[1])["day"] is None


def test_a_jsonl_file_with_a_number_among_the_texts_scores_every_text_as_written(fitted, tmp_path) -> None:
    rows = [{"text": "chef pasta", "meta": "s"}, {"text": "striker goal", "meta": 5}, {"text": 5, "meta": None}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    predict_file(fitted, source, out, keep_all=True)
    records = read_jsonl(out)
    assert [r["text"] for r in records] == ["chef pasta", "striker goal", 5]  # as written: no quotes added
    assert [r["meta"] for r in records] == ["s", 5, None]
    probs = expected(fitted, ["chef pasta", "striker goal", "5"])
    np.testing.assert_allclose([r["score"] for r in records], probs.max(axis=1), atol=1e-6)


def test_a_json_array_file_is_read_like_json_lines(fitted, tmp_path) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"id": 1, "text": "chef pasta"}, {"id": 2, "text": 7}]), encoding="utf-8")
    chunks = list(iter_predictions(fitted, source, keep_columns=["id"]))
    np.testing.assert_allclose(chunks[0].probabilities, expected(fitted, ["chef pasta", "7"]), atol=1e-6)
    assert chunks[0].kept.column("id").to_pylist() == [1, 2]


def test_a_jsonl_file_that_is_not_utf8_is_a_one_line_error_like_csv(model_dir, tmp_path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes('{"text": "a good match"}\n{"text": "un café"}\n'.encode("latin-1"))
    out = tmp_path / "out.jsonl"
    result = run("predict", model_dir, source, "--output", out)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {source} is not valid utf-8: line 2, byte 17 (0xe9); "
        "pass the file's encoding with --encoding (e.g. --encoding latin-1)"
    )
    assert not out.exists()
    result = run("predict", model_dir, source, "--output", out, "--encoding", "latin-1", "--keep-all")
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in read_jsonl(out)] == ["a good match", "un café"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_renamed_label_column_does_not_overwrite_an_input_label_column(fitted, tmp_path, fmt) -> None:
    source = tmp_path / "in.csv"
    source.write_text("text,label,input_label\nchef pasta,gold-a,note-b\n", encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    predict_file(fitted, source, out, keep_all=True)
    record = read_jsonl(out)[0] if fmt == "jsonl" else read_table(out, fmt).iloc[0].to_dict()
    assert list(record)[:4] == ["text", "input_input_label", "input_label", "label"]
    assert (record["input_input_label"], record["input_label"], record["label"]) == ("gold-a", "note-b", "food")


@pytest.mark.parametrize("fmt", ["txt", "jsonl"])
def test_an_empty_text_or_jsonl_file_writes_an_empty_output_like_empty_stdin(model_dir, tmp_path, fmt) -> None:
    source = tmp_path / f"empty.{fmt}"
    source.write_bytes(b"")
    result = run("predict", model_dir, source, "--output", tmp_path / "o.jsonl")
    assert result.exit_code == 0, result.output
    assert "Wrote 0 predictions" in result.stderr
    assert (tmp_path / "o.jsonl").read_bytes() == b""
    result = run("predict", model_dir, source, "--output", tmp_path / "o.csv", "--keep-all")
    assert result.exit_code == 0, result.output
    kept = '"text",' if fmt == "txt" else ""  # a text file's only column is known without any row
    assert (tmp_path / "o.csv").read_text().splitlines() == [kept + '"label","score"']


@pytest.mark.parametrize("name", ["in.txt", "-", "in.jsonl"])
def test_a_utf8_byte_order_mark_is_not_part_of_the_first_text(model_dir, fitted, tmp_path, name) -> None:
    line = '{"text": "chef pasta"}\n' if name.endswith(".jsonl") else "chef pasta\n"
    data = ("\ufeff" + line).encode("utf-8")  # what Windows Notepad writes
    source = tmp_path / name
    if name != "-":
        source.write_bytes(data)
    stdin = data if name == "-" else None
    result = CliRunner().invoke(
        cli, ["predict", str(model_dir), name if name == "-" else str(source), "--keep-all"], input=stdin
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["text"] == "chef pasta"
    assert record["score"] == pytest.approx(float(expected(fitted, ["chef pasta"]).max()), abs=1e-6)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_a_csv_column_that_turns_from_numbers_to_codes_is_kept_as_written_whatever_the_chunks(
    fitted, tmp_path, fmt
) -> None:
    ids = ["1", "2", "007", "4", "5", "A6", "7"]  # numbers in the first chunk, a code in the second
    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ids, "text": ["chef pasta"] * 7}).to_csv(source, index=False)
    out = tmp_path / f"out.{fmt}"
    predict_file(fitted, source, out, keep_columns=["id"], chunk_rows=4)
    if fmt == "jsonl":
        assert [r["id"] for r in read_jsonl(out)] == ids
    elif fmt == "csv":
        assert pd.read_csv(out, dtype=str)["id"].tolist() == ids
    else:
        assert pq.read_table(out).column("id").to_pylist() == ids


def test_an_unfitted_classifier_is_not_fitted_error(tmp_path) -> None:
    from sklearn.exceptions import NotFittedError

    from textcnn import TextCNNClassifier

    (tmp_path / "in.txt").write_text("a text\n")
    with pytest.raises(NotFittedError):
        predict_file(TextCNNClassifier(), tmp_path / "in.txt", tmp_path / "out.jsonl")
    with pytest.raises(NotFittedError):
        next(iter_predictions(TextCNNClassifier(), tmp_path / "in.txt"))
