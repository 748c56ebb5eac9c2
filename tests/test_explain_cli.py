"""`textcnn explain`, `textcnn inspect` and the plots, end to end through click's runner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import make_corpus

from textcnn import TextCNNClassifier
from textcnn.batching import pad_batch
from textcnn.cli.main import cli
from textcnn.tokenization import encode_batch

TRAIN = ["--embedding-dim", "16", "--num-filters", "8", "--lr", "0.01", "--epochs", "8", "--patience", "8"]
TRAIN += ["--refit", "never", "--device", "cpu", "--kernel-sizes", "2,3"]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: ") and all(f in lines[-1] for f in fragments), lines[-1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explain")
    texts, labels = make_corpus(180, seed=1)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(root / "train.csv", index=False)
    test_texts, test_labels = make_corpus(24, seed=2)
    pd.DataFrame({"review": test_texts, "label": test_labels}).to_csv(root / "test.csv", index=False)
    (root / "new.txt").write_text("\n".join(test_texts[:12]) + "\n", encoding="utf-8")
    result = run("train", root / "train.csv", "--out", root / "model", *TRAIN)
    assert result.exit_code == 0, result.output
    return root


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) read back by matplotlib, which also proves the file is a PNG it can decode."""
    from matplotlib import image

    pixels = image.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert float(pixels[..., :3].std()) > 0.01  # not a blank canvas
    return pixels.shape[1], pixels.shape[0]


def test_explain_texts_prints_highlighted_ngrams_and_scores(workspace) -> None:
    result = run("explain", workspace / "model", "the chef cooked spicy pasta", "a striker scored a goal", "--top", "3")
    assert result.exit_code == 0, result.output
    blocks = re.split(r"^(?=#\d )", result.output, flags=re.M)[1:]
    assert [b.split()[1] for b in blocks] == ["food", "sports"]
    for block in blocks:
        assert re.search(r"logit [+-]\d+\.\d{4} = bias [+-]\d+\.\d{4} \+ n-grams:", block)
        assert re.search(r"margin over \w+ [+-]\d+\.\d{4}", block)
        assert len(re.findall(r"^    [+-]\d+\.\d{4}  .+  \[k=[\d,]+\]$", block, flags=re.M)) == 6  # 3 + 3
    coloured = CliRunner().invoke(cli, ["explain", str(workspace / "model"), "spicy pasta"], color=True)
    assert "\x1b[32m" in coloured.output  # supporting n-grams in green on a terminal


def test_explain_json_lines_hold_the_exact_decomposition(workspace) -> None:
    out = workspace / "why.jsonl"
    result = run("explain", workspace / "model", "--input", workspace / "test.csv", "--text-column", "review",
                 "--format", "json", "--output", out, "--top", "4")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 24 explanations" in result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    texts = pd.read_csv(workspace / "test.csv")["review"].tolist()
    assert [r["text"] for r in records] == texts
    clf = TextCNNClassifier.load(workspace / "model")
    config = clf.model_.config
    ids = encode_batch(clf.tokenizer_, texts, config.max_length, config.truncation)
    classes = [str(c) for c in clf.classes_]
    for record, sequence in zip(records, ids, strict=True):
        with torch.no_grad():
            logits = clf.model_(pad_batch([sequence], config.pad_id, clf.model_.min_length))[0].numpy()
        logit = record["logit"]
        assert len(logit["ngrams"]) == 4
        total = logit["bias"] + logit["rest"] + sum(n["score"] for n in logit["ngrams"])
        assert abs(total - logits[classes.index(record["label"])]) < 1e-4
        for ngram in logit["ngrams"]:
            assert record["text"][ngram["char_start"] : ngram["char_end"]] == ngram["text"]
        assert abs(sum(t["score"] for t in record["tokens"]) + logit["bias"] - logit["value"]) < 1e-4


def test_explain_html_is_one_self_contained_page(workspace) -> None:
    page = workspace / "why.html"
    result = run("explain", workspace / "model", "--input", workspace / "new.txt", "--output", page)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"https?://|src\s*=|<link|<script|@import|url\(", html, flags=re.I)
    assert html.count('<div class="block">') == 12
    assert html.count('class="tok"') > 12 * 4  # every kept token is coloured
    assert [p.name for p in workspace.glob(".why.html*")] == []  # no temporary file left


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (Debian package chromium) is not installed")
def test_explain_html_renders_in_headless_chromium(workspace, tmp_path) -> None:
    page = tmp_path / "page.html"
    assert run("explain", workspace / "model", "--input", workspace / "new.txt", "--output", page).exit_code == 0
    shot = tmp_path / "shot.png"
    profile = tempfile.mkdtemp(dir=tmp_path)
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               f"--screenshot={shot}", "--window-size=1000,800", page.as_uri()]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    pytest.importorskip("matplotlib")
    assert png_size(shot) == (1000, 800)


def test_explain_refuses_bad_requests_in_one_line(workspace, tmp_path) -> None:
    model = workspace / "model"
    one_line_error(run("explain", model), "nothing to explain", "--input")
    one_line_error(run("explain", model, "some text", "--input", workspace / "new.txt"), "not both")
    one_line_error(run("explain", model, "some text", "--label", "nope"), "label='nope'", "food")
    one_line_error(run("explain", model, "text", "--output", tmp_path / "missing" / "a.html"), "does not exist")
    assert not (tmp_path / "missing").exists()


def test_inspect_lists_what_excites_each_filter(workspace) -> None:
    out = workspace / "filters.json"
    result = run("inspect", workspace / "model", workspace / "train.csv", "--top", "4", "--output", out)
    assert result.exit_code == 0, result.output
    for label in ("food", "sports", "tech"):
        assert re.search(rf"^{label}: filters that raise its logit most", result.output, flags=re.M)
    report = json.loads(out.read_text(encoding="utf-8"))
    clf = TextCNNClassifier.load(workspace / "model")
    model, config = clf.model_, clf.model_.config
    assert report["texts"] == 180 and len(report["filters"]) == 2 * 8
    # The top n-gram of each filter is the window of the data with the highest activation.
    texts = pd.read_csv(workspace / "train.csv")["text"].tolist()
    ids = encode_batch(clf.tokenizer_, texts, config.max_length, config.truncation)
    with torch.no_grad():
        groups = model.window_activations(pad_batch(ids, config.pad_id, model.min_length))
    for entry in report["filters"]:
        group = config.kernel_sizes.index(entry["kernel_size"])
        strongest = float(groups[group][0][:, entry["index"], :].max())
        activations = [n["activation"] for n in entry["top_ngrams"]]
        assert activations == sorted(activations, reverse=True) and len(activations) == 4
        assert activations[0] == pytest.approx(strongest, abs=1e-4)
        assert len(entry["top_ngrams"][0]["tokens"]) == entry["kernel_size"]
        weights = {w["label"]: w["weight"] for w in entry["weights"]}
        assert entry["pushes_toward"] == max(weights, key=weights.get)
        column = model.classifier.weight[:, entry["feature"]].tolist()
        assert [weights[c] for c in clf.classes_] == pytest.approx(column)


def test_train_writes_training_curves(workspace) -> None:
    pytest.importorskip("matplotlib")
    width, height = png_size(workspace / "model" / "curves.png")
    assert 600 <= width <= 2000 and 300 <= height <= 1500


def test_eval_plots_the_confusion_matrix(workspace) -> None:
    pytest.importorskip("matplotlib")
    plot = workspace / "confusion.png"
    result = run("eval", workspace / "model", workspace / "test.csv", "--text-column", "review", "--plot", plot)
    assert result.exit_code == 0, result.output
    width, height = png_size(plot)
    assert 300 <= width <= 3000 and 300 <= height <= 3000
    one_line_error(
        run("eval", workspace / "model", workspace / "test.csv", "--plot", workspace / "model" / "c.png"),
        "--plot",
        "inside the model directory",
    )


def test_without_matplotlib_plots_are_refused_or_hinted_once(workspace, monkeypatch, capsys) -> None:
    import textcnn.plots
    from textcnn.cli.train import _draw_curves

    monkeypatch.setattr(textcnn.plots, "plotting_available", lambda: False)
    result = run("eval", workspace / "model", workspace / "test.csv", "--text-column", "review",
                 "--plot", workspace / "c.png")  # fmt: skip
    one_line_error(result, "--plot needs matplotlib", "textcnn[plot]")
    assert not (workspace / "c.png").exists()
    clf = TextCNNClassifier.load(workspace / "model")
    out = workspace / "no-plot"
    out.mkdir()
    _draw_curves(clf, out)
    assert capsys.readouterr().err.count("textcnn[plot]") == 1
    assert list(out.iterdir()) == []


def test_explain_reads_stdin_and_jsonl(workspace) -> None:
    lines = "\n".join(json.dumps({"body": t}) for t in ["spicy pasta", "robot chip"]) + "\n"
    args = ["explain", str(workspace / "model"), "--input", "-", "--input-format", "jsonl", "--text-column", "body"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"], input=lines)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["label"] for r in records] == ["food", "tech"]
    probabilities = TextCNNClassifier.load(workspace / "model").predict_proba(["spicy pasta", "robot chip"])
    assert [r["probability"] for r in records] == pytest.approx(probabilities.max(axis=1).tolist(), abs=1e-6)
