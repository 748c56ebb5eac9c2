"""scripts/bench_train_speed.py: its plain loop pads and trains, its runs count the right work, its ratios follow."""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_train_speed.py"
_spec = importlib.util.spec_from_file_location("bench_train_speed", SCRIPT)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)


@pytest.fixture()
def split(tmp_path: Path) -> bench.Split:
    """60 rows (54 train = 2 batches of 50, 6 valid) whose label is which word they contain."""
    path = tmp_path / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(60):
            label = "pos" if i % 2 else "neg"
            writer.writerow([f"a {'good' if i % 2 else 'bad'} film number {i}", label])
    return bench.load_split(str(path))


def test_load_split_holds_out_a_tenth(split: bench.Split) -> None:
    assert (len(split.train_texts), len(split.valid_texts)) == (54, 6)
    assert not set(split.train_texts) & set(split.valid_texts)


def test_plain_loop_pads_and_counts_its_steps(split: bench.Split) -> None:
    vocab = bench.plain_vocab(split.train_texts)
    assert {"good", "bad"} <= set(vocab) and min(vocab.values()) == 2  # 0 and 1 are [PAD] and [UNK]
    padded = bench.plain_pad([[5], [5, 6, 7, 8, 9, 10]], min_length=5)
    assert padded.tolist() == [[5, 0, 0, 0, 0, 0], [5, 6, 7, 8, 9, 10]]
    run = bench.time_plain(split, epochs=2, embedding_dim=16, num_filters=8)
    assert run.seconds > 0
    assert (run.sentences, run.steps) == (108, 4)  # 54 rows, batches of 50: 2 steps an epoch


def test_textcnn_run_counts_its_work(split: bench.Split) -> None:
    run = bench.time_textcnn(split, epochs=1, embedding_dim=16, num_filters=8)
    assert run.seconds > 0
    assert (run.sentences, run.steps) == (54, 2)


def test_rates_subtract_the_short_run_and_ratios_divide() -> None:
    short, long = bench.Run(2.0, 100, 2), bench.Run(6.0, 300, 6)
    assert bench.rates(short, long) == bench.Rates(50.0, 1.0)
    comparison = bench.Comparison("tiny", bench.Rates(150.0, 3.0), bench.Rates(50.0, 1.0))
    assert comparison.sentences_ratio == pytest.approx(3.0) and comparison.steps_ratio == pytest.approx(3.0)
    table = bench.format_table([comparison])
    assert "| tiny | 150 | 50 | 3.0 | 1.0 | 3.00x |" in table
    assert math.isnan(bench.rates(long, short).steps_per_s)  # noise: no rate rather than a negative one
