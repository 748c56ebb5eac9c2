"""scripts/fetch_cjk_data.py and scripts/bench_cjk.py on data made here (nothing is downloaded)."""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
import tarfile
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_script", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fetch = load("fetch_cjk_data")
bench = load("bench_cjk")


def fake_sdist(path: Path, lines: dict[str, list[str]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for label, member in fetch.MEMBERS.items():
            data = ("\n".join(lines[label]) + "\n").encode("utf-8")
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_reviews_are_deduplicated_and_conflicting_lines_dropped(tmp_path: Path) -> None:
    archive = fake_sdist(
        tmp_path / "sdist.tar.gz",
        {"neg": ["太差了", "太差了", "一般", " ", "不好"], "pos": ["很好", "一般", "很好", "喜欢"]},
    )
    rows = fetch.read_reviews(archive)
    assert sorted(rows) == sorted([("太差了", "neg"), ("不好", "neg"), ("很好", "pos"), ("喜欢", "pos")])


def test_the_split_is_seeded_disjoint_and_complete(tmp_path: Path) -> None:
    rows = [(f"评论{i}", "pos" if i % 2 else "neg") for i in range(100)]
    train, test = fetch.split_rows(rows)
    assert (train, test) == fetch.split_rows(rows)  # the same every time
    assert len(test) == 20 and sorted(train + test) == sorted(rows)
    fetch.write_csv(tmp_path / "test.csv", test)
    assert bench.read_rows(tmp_path / "test.csv") == ([t for t, _ in test], [label for _, label in test])
    with (tmp_path / "test.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["text", "label"]


def test_fasttext_input_has_a_space_around_each_cjk_character() -> None:
    assert bench.spaced("我喜欢Python 3和 日本語!") == "我 喜 欢 python 3 和 日 本 語 !"


def test_the_validation_split_never_holds_training_rows() -> None:
    texts = [f"文本{i}" for i in range(50)]
    labels = ["a" if i < 25 else "b" for i in range(50)]
    (train_texts, _), (valid_texts, valid_labels) = bench.carve_validation((texts, labels), 0.2)
    assert len(valid_texts) == 10 and not set(train_texts) & set(valid_texts)
    assert sorted(valid_labels) == ["a"] * 5 + ["b"] * 5  # stratified
