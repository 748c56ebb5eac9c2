"""Every data source kind goes through one loader and comes out as `text` / `label` columns."""

from __future__ import annotations

import json
import logging

import datasets
import pandas as pd
import pytest

from textcnn.data import check_source_options, load_source, select_columns, source_kind, stratified_split
from textcnn.errors import TextCNNError

ROWS = [("good film", "pos"), ("bad film", "neg"), ("NA", "pos"), ("null", "neg")]


def frame(labels_as_int: bool = False) -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["text", "label"])
    if labels_as_int:
        df["label"] = (df["label"] == "pos").astype(int)
    return df


def load(path, **kwargs):
    return select_columns(load_source(path), source=str(path), **kwargs)


@pytest.mark.parametrize("int_labels", [False, True])
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_table_files_load_with_string_or_int_labels(tmp_path, suffix: str, int_labels: bool) -> None:
    df = frame(int_labels)
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    elif suffix == ".json":
        path.write_text(json.dumps(df.to_dict(orient="records")))
    else:
        df.to_parquet(path)
    dataset = load(path)
    assert dataset.column_names == ["text", "label"]
    assert dataset["text"] == df["text"].tolist()  # "NA" and "null" stay texts
    assert list(dataset["label"]) == df["label"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_csv_labels_come_back_as_written(tmp_path, suffix: str) -> None:
    """Codes keep their leading zeros; whole numbers stay integers even beside an empty cell."""
    sep = "\t" if suffix == ".tsv" else ","
    (tmp_path / f"codes{suffix}").write_text(f"text{sep}label\ngood{sep}001\nbad{sep}002\n12{sep}010\n")
    codes = load(tmp_path / f"codes{suffix}")
    assert list(codes["label"]) == ["001", "002", "010"] and codes["text"] == ["good", "bad", "12"]
    (tmp_path / f"ints{suffix}").write_text(f"text{sep}label\ngood{sep}1\nbad{sep}\nfine{sep}-3\n")
    ints = load(tmp_path / f"ints{suffix}", on_bad_rows="skip")
    assert list(ints["label"]) == [1, -3] and all(type(label) is int for label in ints["label"])


def test_txt_file_gives_one_text_per_line_including_empty_lines(tmp_path) -> None:
    path = tmp_path / "input.txt"
    path.write_text("first line\n\nthird line\n", encoding="utf-8")
    dataset = select_columns(load_source(path), label_column=None)
    assert dataset["text"] == ["first line", "", "third line"]


def test_class_folders_load_one_document_per_file(tmp_path) -> None:
    for label, docs in {"sport": ["goal!", "match\nreport"], "tech": ["chips"]}.items():
        (tmp_path / label).mkdir()
        for i, doc in enumerate(docs):
            (tmp_path / label / f"{i}.txt").write_text(doc, encoding="utf-8-sig" if label == "tech" else "utf-8")
    (tmp_path / "labels.csv").write_text("label\nsport\ntech\n")  # a stray data file: still class folders
    dataset = load(tmp_path)  # the byte order mark "utf-8-sig" writes is not part of the text
    assert sorted(zip(dataset["text"], dataset["label"], strict=True)) == [
        ("chips", "tech"),
        ("goal!", "sport"),
        ("match\nreport", "sport"),
    ]


def test_class_folders_name_what_they_skip_and_refuse_binary_files(tmp_path, caplog) -> None:
    for label in ("pos", "neg", "neutral"):
        (tmp_path / label).mkdir()
    (tmp_path / "pos" / "a.txt").write_text("great", encoding="utf-8")
    (tmp_path / "neg" / "b.txt").write_text("awful", encoding="utf-8")
    (tmp_path / "neg" / "2024").mkdir()
    (tmp_path / "neg" / "2024" / "c.txt").write_text("dull", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="textcnn.data.loaders"):
        dataset = load(tmp_path)
    assert sorted(dataset["label"]) == ["neg", "pos"]
    assert "2 entries of" in caplog.text
    assert "2024 (folder)" in caplog.text and "class 'neutral' is left out" in caplog.text

    (tmp_path / "pos" / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(TextCNNError, match=r"scan.png is not a text document \(it holds binary data\)"):
        load(tmp_path)


@pytest.mark.parametrize("layout", ["saved Dataset", "saved DatasetDict", "data files"])
def test_hugging_face_folders_load_as_datasets_not_class_folders(tmp_path, layout: str) -> None:
    train = datasets.Dataset.from_pandas(frame())
    test = datasets.Dataset.from_dict({"text": ["fine film"], "label": ["pos"]})
    folder = tmp_path / "ds"
    if layout == "saved Dataset":
        train.save_to_disk(str(folder))
    elif layout == "saved DatasetDict":
        datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(folder))
    else:
        (folder / "data").mkdir(parents=True)
        train.to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
        test.to_parquet(str(folder / "data" / "test-00000-of-00001.parquet"))
    loaded = select_columns(load_source(folder), source=str(folder))
    assert loaded["text"] == [text for text, _ in ROWS]
    if layout != "saved Dataset":
        assert select_columns(load_source(folder, split="test"))["text"] == ["fine film"]
        with pytest.raises(TextCNNError, match="has no split 'dev'; its splits are: train, test"):
            load_source(folder, split="dev")


def test_data_folder_rules_split_refusals_and_utf16_documents(tmp_path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    frame().to_csv(folder / "train.csv", index=False)
    (folder / "NOTES.txt").write_text("notes")  # notes beside data files: still a data folder
    (folder / "LICENSE.txt").write_text("licence")
    assert source_kind(folder) == "data folder"
    with pytest.raises(TextCNNError, match="has no split 'test'; its splits are: train \\(choose one with `split`\\)"):
        load_source(folder, split="test")

    saved = tmp_path / "saved"
    datasets.Dataset.from_pandas(frame()).save_to_disk(str(saved))
    with pytest.raises(TextCNNError, match="`split` does not apply to .*a saved Dataset has no named splits"):
        check_source_options(saved, split="test", dataset_config=None)

    with pytest.raises(TextCNNError, match="file not found"):  # its folder exists: a local name, not a Hub id
        load_source(str(folder / "train.cvs"))

    (tmp_path / "classes" / "pos").mkdir(parents=True)
    (tmp_path / "classes" / "pos" / "a.txt").write_bytes("great film".encode("utf-16"))
    with pytest.raises(TextCNNError, match='a.txt is UTF-16 .*pass `encoding="utf-16"`'):
        load_source(tmp_path / "classes")
    assert select_columns(load_source(tmp_path / "classes", encoding="utf-16"))["text"] == ["great film"]


@pytest.mark.parametrize("name", ["data.csv.gz", "data.tsv.bz2", "data.jsonl.xz"])
def test_compressed_files_load_like_plain_ones(tmp_path, name: str) -> None:
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[name[name.rindex(".") :]]
    df = frame()
    if ".jsonl" in name:
        text = "".join(json.dumps(record) + "\n" for record in df.to_dict("records"))
    else:
        text = df.to_csv(index=False, sep="\t" if ".tsv" in name else ",")
    with opener(tmp_path / name, "wt", encoding="utf-8") as handle:
        handle.write(text)
    dataset = load(tmp_path / name)
    assert list(zip(dataset["text"], dataset["label"], strict=True)) == ROWS


def test_txt_file_for_training_says_it_has_no_labels(tmp_path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("good film\n", encoding="utf-8")
    with pytest.raises(TextCNNError, match="holds texts without labels"):
        load(path)


def test_split_and_dataset_config_are_refused_where_they_cannot_apply(tmp_path) -> None:
    path = tmp_path / "a.csv"
    frame().to_csv(path, index=False)
    with pytest.raises(TextCNNError, match="`split` does not apply to .*a single file has no named splits"):
        check_source_options(path, split="test", dataset_config=None)
    with pytest.raises(TextCNNError, match="`dataset_config` names a configuration of a Hugging Face Hub dataset"):
        check_source_options(path, split=None, dataset_config="plain_text")
    check_source_options(path, split=None, dataset_config=None)
    assert source_kind("stanfordnlp/imdb") == "hub"  # decided without the network
    check_source_options("stanfordnlp/imdb", split="test", dataset_config="plain_text")


@pytest.mark.parametrize("name", ["train.cvs", "reviews.xlsx"])
def test_a_missing_name_with_a_file_suffix_is_not_sent_to_the_hub(name: str) -> None:
    with pytest.raises(TextCNNError, match=f"file not found: {name}"):
        load_source(name)


def test_an_unclosed_quote_in_a_tsv_is_explained(tmp_path) -> None:
    path = tmp_path / "q.tsv"
    path.write_text('text\tlabel\n"Best movie ever\tpos\nawful\tneg\n', encoding="utf-8")
    with pytest.raises(TextCNNError, match="EOF inside string.*a field opens a quote mark that never closes"):
        load_source(path)


PLAIN_TSV = 'text\tlabel\n"Sic" transit gloria\tpos\n"Hello world\tneg\nsay "hi"\tpos\n'  # GLUE-style: no quoting


def test_quoting_none_reads_quote_marks_as_text_in_files_and_data_folders(tmp_path, caplog) -> None:
    path = tmp_path / "plain.tsv"
    path.write_text(PLAIN_TSV, encoding="utf-8")
    expected = ['"Sic" transit gloria', '"Hello world', 'say "hi"']
    assert select_columns(load_source(path, quoting="none"))["text"] == expected
    streamed = load_source(path, quoting="none", streaming=True)
    assert [row["text"] for row in streamed] == expected
    folder = tmp_path / "glue"
    folder.mkdir()
    (folder / "train.tsv").write_text(PLAIN_TSV, encoding="utf-8")
    assert select_columns(load_source(folder, quoting="none"))["label"] == ["pos", "neg", "pos"]
    # With CSV quoting (the default), quote marks join lines: said, with the way out.
    with caplog.at_level(logging.WARNING, logger="textcnn.data.loaders"):
        assert len(load_source(path)) == 2
    assert "plain.tsv has 3 data lines but gave 2 rows" in caplog.text
    assert 'pass `quoting="none"`' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textcnn.data.loaders"):
        assert len(load_source(folder)) == 2  # a data folder of TSV files is checked too
    assert "train.tsv has 3 data lines but gave 2 rows" in caplog.text
    (tmp_path / "open.tsv").write_text('text\tlabel\nfine\tpos\n"Hello world\tneg\n', encoding="utf-8")
    with pytest.raises(TextCNNError, match='never closes.*pass `quoting="none"`'):
        load_source(tmp_path / "open.tsv")


def test_quoting_is_refused_where_no_csv_or_tsv_file_is_read(tmp_path) -> None:
    jsonl = tmp_path / "a.jsonl"
    frame().to_json(jsonl, orient="records", lines=True)
    with pytest.raises(TextCNNError, match="`quoting` applies to CSV/TSV files; .*a.jsonl is not one"):
        check_source_options(jsonl, split=None, dataset_config=None, quoting="none")
    with pytest.raises(TextCNNError, match="`quoting` applies to CSV/TSV files; .*a.jsonl is not one"):
        load_source(jsonl, quoting="none")
    parquet_folder = tmp_path / "pq"
    (parquet_folder / "data").mkdir(parents=True)
    frame().to_parquet(parquet_folder / "data" / "train-00000-of-00001.parquet")
    with pytest.raises(TextCNNError, match="`quoting` applies to CSV/TSV files; .*holds parquet files"):
        load_source(parquet_folder, quoting="none")
    with pytest.raises(TextCNNError, match="`quoting` applies to CSV/TSV files; stanfordnlp/imdb is a Hugging Face"):
        check_source_options("stanfordnlp/imdb", split=None, dataset_config=None, quoting="none")
    with pytest.raises(TextCNNError, match="unknown quoting 'minimal'; use one of csv, none"):
        load_source(jsonl, quoting="minimal")


def test_custom_column_names_are_renamed(tmp_path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"id": [1, 2], "body": ["a", "b"], "y": ["x", "z"]}).to_csv(path, index=False)
    dataset = load(path, text_column="body", label_column="y")
    assert dataset.column_names == ["text", "label"]
    assert dataset["label"] == ["x", "z"]


def test_unknown_column_lists_the_existing_ones(tmp_path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"body": ["a"], "y": ["x"]}).to_csv(path, index=False)
    with pytest.raises(TextCNNError, match="no text column 'text'; columns are: body, y"):
        load(path)


def test_missing_local_file_is_not_mistaken_for_a_hub_id(tmp_path) -> None:
    with pytest.raises(TextCNNError, match="file not found"):
        load_source(tmp_path / "absent.csv")


def test_empty_and_header_only_files_are_rejected(tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(TextCNNError, match="empty"):
        load_source(empty)
    header = tmp_path / "header.csv"
    header.write_text("text,label\n")
    with pytest.raises(TextCNNError, match="no data rows"):
        load_source(header)


def test_unsupported_extension_is_rejected(tmp_path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(TextCNNError, match="unsupported file type"):
        load_source(path)


def test_rows_with_missing_values_error_or_are_skipped(tmp_path, caplog) -> None:
    path = tmp_path / "data.csv"
    path.write_text("text,label\ngood,pos\n,neg\nok,\nfine,pos\n")
    with pytest.raises(TextCNNError, match=r"2 row.*first: line 3 of data\.csv"):
        load(path)
    assert load(path, on_bad_rows="skip")["text"] == ["good", "fine"]
    assert "skipped 2 of 4 rows" in caplog.text


def test_bad_row_falls_back_to_data_row_when_line_numbers_are_not_exact(tmp_path) -> None:
    path = tmp_path / "data.csv"
    path.write_text('text,label\n"two\nlines",pos\nok,\n')  # a quoted newline shifts line numbers
    with pytest.raises(TextCNNError, match=r"first: data row 2 \(the header not counted\)"):
        load(path)


def test_stratified_split_keeps_class_balance_and_survives_singletons() -> None:
    labels = ["a"] * 50 + ["b"] * 50
    train, valid = stratified_split(labels, 0.1, seed=0)
    assert sorted(labels[i] for i in valid) == ["a"] * 5 + ["b"] * 5
    assert set(train).isdisjoint(valid)
    labels = ["a"] * 20 + ["b"] * 20 + ["c"]  # 'c' seen once: it stays in training
    train, valid = stratified_split(labels, 0.1, seed=0)
    assert sorted([*train, *valid]) == list(range(41))
    assert 40 in train
    assert sorted(labels[i] for i in valid) == ["a"] * 2 + ["b"] * 2


def test_class_folder_file_in_another_encoding_names_file_and_line(tmp_path) -> None:
    for label, text in {"fr": "un caf\xe9\ncr\xe8me", "en": "a coffee"}.items():
        (tmp_path / label).mkdir()
        (tmp_path / label / "doc.txt").write_bytes(text.encode("latin-1"))
    with pytest.raises(TextCNNError, match=r"fr/doc\.txt is not valid utf-8: line 1, byte 7 \(0xe9\).*`encoding`"):
        load_source(tmp_path)
    dataset = load_source(tmp_path, encoding="latin-1")
    assert sorted(dataset["text"]) == ["a coffee", "un caf\xe9\ncr\xe8me"]


@pytest.mark.parametrize(
    ("suffix", "shape"),
    [
        (".jsonl", "lists"),
        (".jsonl", "some lists"),
        (".jsonl", "objects"),
        (".parquet", "lists"),
        (".parquet", "objects"),
    ],
)
def test_a_label_column_of_lists_is_a_one_line_error(tmp_path, suffix: str, shape: str) -> None:
    """The usual multi-label layout, `{"label": ["pos"]}`, failed deep in training or in eval's metrics."""
    labels = {
        "lists": [["pos"], ["neg", "pos"], ["neg"], []],
        "some lists": ["pos", ["neg", "pos"], "neg", "pos"],
        "objects": [{"name": "pos"}, {"name": "neg"}, {"name": "pos"}, {"name": "neg"}],
    }[shape]
    rows = [{"body": text, "tags": label} for (text, _), label in zip(ROWS, labels, strict=True)]
    path = tmp_path / f"d{suffix}"
    if suffix == ".jsonl":  # "some lists": JSON lines mixing lists and strings (a Parquet column has one type)
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        pd.DataFrame(rows).to_parquet(path)
    kind = "objects" if shape == "objects" else "lists"
    with pytest.raises(TextCNNError, match=rf"the label column 'tags' holds {kind}; textcnn trains single-label"):
        load(path, text_column="body", label_column="tags")


def test_a_model_or_checkpoint_directory_given_as_data_is_called_one(fitted, tmp_path) -> None:
    model_dir = fitted.save(tmp_path / "m")
    message = "is a textcnn model or checkpoint directory, not data"
    with pytest.raises(TextCNNError, match=rf"m {message}: give a data file or folder"):
        load_source(model_dir)
    (model_dir / "config.json").write_text("{")  # a damaged model is still a model, not data
    with pytest.raises(TextCNNError, match=message):
        source_kind(model_dir)
    checkpoint = tmp_path / "m.checkpoint"  # what `textcnn train` keeps beside --out while it trains
    checkpoint.mkdir()
    (checkpoint / "checkpoint.json").write_text("{}")
    (checkpoint / "model.safetensors").write_bytes(b"")
    with pytest.raises(TextCNNError, match=message):
        source_kind(checkpoint)


def test_a_data_folder_with_a_config_json_of_its_own_is_still_data(tmp_path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    frame().to_csv(folder / "train.csv", index=False)
    (folder / "config.json").write_text(json.dumps({"name": "my data"}))
    assert source_kind(folder) == "data folder"


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_called_a_pipe_not_a_missing_file(tmp_path) -> None:
    import os

    pipe = tmp_path / "data.csv"
    os.mkfifo(pipe)  # what `textcnn eval m <(cat test.csv)` passes: /dev/fd/63
    with pytest.raises(TextCNNError, match=r"data\.csv exists but is a pipe, not a regular file: .*save the data"):
        source_kind(pipe)


def test_the_data_package_re_exports_its_public_names() -> None:
    import textcnn.data
    from textcnn.data import columns, loaders, read_errors, sources

    modules = (columns, loaders, read_errors, sources)
    for name in textcnn.data.__all__:
        value = getattr(textcnn.data, name)
        assert any(getattr(module, name, None) is value for module in modules), name
    assert textcnn.data.load_source is loaders.load_source
    with pytest.raises(AttributeError):
        _ = textcnn.data.no_such_name
