"""The benchmark package `scripts.bench`: a smoke run on tiny generated datasets, and its argument handling."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import HAS_PROC_CHILDREN, is_running, make_corpus, wait_for_children

from scripts.bench import baselines, cli, data, measure, run, workers
from scripts.bench import report as reporting
from scripts.bench.jobs import NON_STATIC, Job
from scripts.bench.processes import child_env, module_command
from textcnn.errors import TextCNNError

TINY_TEXTCNN = [
    "embedding_dim=16",
    "num_filters=8",
    "kernel_sizes=2,3",
    "epochs=3",
    "patience=2",
    "batch_size=16",
    "lr=0.005",
    "device=cpu",
]


def write_csv(path: Path, texts: list[str], labels: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`withdev` has a dev split (the sst2 layout); `nodev` does not and is sorted by label (like IMDB)."""
    root = tmp_path_factory.mktemp("benchmarks")
    write_csv(root / "withdev" / "train.csv", *make_corpus(240, seed=11))
    write_csv(root / "withdev" / "dev.csv", *make_corpus(60, seed=12))
    write_csv(root / "withdev" / "test.csv", *make_corpus(90, seed=13))
    texts, labels = make_corpus(240, seed=14)
    ordered = sorted(zip(labels, texts, strict=True))
    write_csv(root / "nodev" / "train.csv", [t for _, t in ordered], [y for y, _ in ordered])
    write_csv(root / "nodev" / "test.csv", *make_corpus(120, seed=15))
    return root


@pytest.fixture(scope="module")
def smoke(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str, str]:
    out = tmp_path_factory.mktemp("bench-out")
    argv = ["--data-root", str(data_root), "--datasets", "withdev,nodev", "--methods", "textcnn,tfidf"]
    argv += ["--seeds", "1", "--out", str(out), "--max-test", "100", "--threads", "1", "--matmul-size", "256"]
    for param in TINY_TEXTCNN:
        argv += ["--textcnn-param", param]
    code = cli.main(argv)
    report = json.loads((out / "results.json").read_text())
    return code, report, (out / "results.md").read_text(), " ".join(argv)


def test_smoke_run_writes_every_method_and_dataset(smoke) -> None:
    code, report, _, _ = smoke
    assert code == 0
    assert list(report["results"]) == ["withdev", "nodev"]
    for dataset in ("withdev", "nodev"):
        assert list(report["results"][dataset]) == ["textcnn", "tfidf"]
        for method in ("textcnn", "tfidf"):
            entry = report["results"][dataset][method]
            assert len(entry["runs"]) == 1
            run, summary = entry["runs"][0], entry["summary"]
            assert "error" not in run, run
            assert summary["runs"] == 1 and summary["errors"] == []
            for key in ("accuracy_mean", "accuracy_std", "macro_f1_mean", "train_seconds_mean", "peak_rss_mb_max"):
                assert key in summary
            assert run["train_sentences_per_s"] > 0 and run["predict_sentences_per_s"] > 0
            assert run["peak_rss_mb"] >= run["rss_before_fit_mb"] > 10
    assert report["results"]["nodev"]["tfidf"]["runs"][0]["n_test"] == 100  # --max-test
    # Each worker's peak is its own: not inflated by the driver (this process, torch loaded) it was forked from.
    tfidf_peak = report["results"]["nodev"]["tfidf"]["runs"][0]["peak_rss_mb"]
    assert tfidf_peak < measure.current_rss_mb()
    assert report["results"]["withdev"]["tfidf"]["runs"][0]["n_test"] == 90


def test_baselines_are_sane_on_an_easy_task(smoke) -> None:
    _, report, _, _ = smoke
    for dataset in ("withdev", "nodev"):
        tfidf = report["results"][dataset]["tfidf"]["runs"][0]
        assert tfidf["accuracy"] >= 0.8, tfidf
        assert tfidf["best_C"] in baselines.TFIDF_C_GRID


def test_textcnn_uses_dev_when_present_and_a_carved_split_otherwise(smoke) -> None:
    _, report, _, _ = smoke
    with_dev = report["results"]["withdev"]["textcnn"]["runs"][0]
    no_dev = report["results"]["nodev"]["textcnn"]["runs"][0]
    assert with_dev["validation"] == "dev"
    assert (with_dev["n_train"], with_dev["n_valid"]) == (240, 60)
    assert no_dev["validation"].startswith("carved")
    assert (no_dev["n_train"], no_dev["n_valid"]) == (216, 24)
    assert with_dev["params"]["kernel_sizes"] == [2, 3] and with_dev["epochs"] <= 3
    # train rows x epochs / fit time
    assert with_dev["train_sentences_per_s"] == pytest.approx(240 * with_dev["epochs"] / with_dev["train_seconds"])
    # Only the carved split is refitted on (sentence data, refit="auto"): all 240 rows, as many epochs.
    assert with_dev["refit_epochs"] == 0
    assert no_dev["refit_epochs"] == no_dev["epochs"]
    rows = 216 * no_dev["epochs"] + 240 * no_dev["refit_epochs"]
    assert no_dev["train_sentences_per_s"] == pytest.approx(rows / no_dev["train_seconds"])


def test_efficiency_is_reported_against_the_matmul_peak(smoke) -> None:
    _, report, _, _ = smoke
    assert report["matmul_peak_gflops"] == max(report["matmul_samples_gflops"]) > 0
    summary = report["results"]["nodev"]["textcnn"]["summary"]
    for key in ("train", "inference", "inference_model"):
        assert summary[f"{key}_peak_fraction"] == pytest.approx(
            summary[f"{key}_gflops_mean"] / report["matmul_peak_gflops"]
        )
        assert summary[f"{key}_peak_fraction"] > 0
    assert "train_gflops_mean" not in report["results"]["nodev"]["tfidf"]["summary"]


def test_report_records_machine_and_command(smoke) -> None:
    _, report, _, argv = smoke
    assert report["command"] == "python -m scripts.bench " + argv
    for key in ("cpu", "usable_cores", "torch", "torch_threads", "python"):
        assert report["machine"][key]
    assert report["machine"]["torch_threads"] == 1
    assert report["date"][:2] == "20"
    # device=cpu: the peak is the CPU's, in fp32, and no GPU is named
    assert (report["machine"]["device"], report["machine"]["gpu"]) == ("cpu", None)
    assert (report["matmul_dtype"], report["matmul_size"]) == ("float32", 256)


def test_commit_stamp_says_dirty_when_the_code_differs_from_the_commit(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args]
        return subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "model.py").write_text("A = 1\n")
    git("add", "model.py")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "--short=7", "HEAD")
    assert measure.git_commit(tmp_path) == head
    (tmp_path / "model.py").write_text("A = 2\n")
    assert measure.git_commit(tmp_path) == head + "-dirty"
    assert measure.git_commit(tmp_path / "missing") is None


def test_markdown_table_has_one_row_per_method_and_dataset(smoke, capsys) -> None:
    _, report, markdown, _ = smoke
    rows = [line for line in markdown.splitlines() if line.startswith(("| withdev |", "| nodev |"))]
    # 4 accuracy rows, 2 textcnn efficiency rows
    assert len(rows) == 6
    accuracy = 100 * report["results"]["nodev"]["tfidf"]["summary"]["accuracy_mean"]
    assert f"| nodev | tfidf | 1 | {accuracy:.1f} |" in markdown
    refit = report["results"]["nodev"]["textcnn"]["summary"]["refit_epochs_mean"]
    assert f" + {refit:.1f} refit |" in markdown
    assert f"float32 matmul peak: {report['matmul_peak_gflops']:.1f} GFLOP/s (256x256, 1 thread(s))" in markdown
    assert report["command"] in markdown


def test_missing_data_is_one_error_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    code = cli.main(["--data-root", str(tmp_path), "--datasets", "mr", "--out", str(tmp_path / "out")])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("Error: ") and "mr/train.csv not found" in error and "\n" not in error
    assert not (tmp_path / "out").exists()
    code = cli.main(["--data-root", str(tmp_path), "--datasets", ",", "--out", str(tmp_path / "out")])
    assert code == 1 and "--datasets names no dataset" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_textcnn_params_are_parsed_and_checked() -> None:
    params = run.parse_textcnn_params(["kernel_sizes=3,4", "lr=0.01", "device=cpu", "max-vocab=null"])
    assert params == {"kernel_sizes": (3, 4), "lr": 0.01, "device": "cpu", "max_vocab": None}
    with pytest.raises(TextCNNError, match="key one of"):
        run.parse_textcnn_params(["no_such_param=1"])
    with pytest.raises(TextCNNError):
        run.parse_textcnn_params(["seed=1"])  # seeds come from --seeds
    with pytest.raises(TextCNNError):
        run.parse_textcnn_params(["epochs"])
    assert run.parse_textcnn_params(["kernel_sizes=3"]) == {"kernel_sizes": (3,)}  # one width
    with pytest.raises(TextCNNError, match="whole numbers separated by commas"):
        run.parse_textcnn_params(["kernel_sizes=3,x"])


def test_methods_are_checked_and_fasttext_is_skipped_with_a_note_when_missing(monkeypatch) -> None:
    monkeypatch.setattr(baselines, "fasttext_available", lambda: False)
    methods, notes = run.resolve_methods(["textcnn", "tfidf", "fasttext"], None)
    assert methods == ["textcnn", "tfidf"]
    assert len(notes) == 1 and "fasttext" in notes[0]
    with pytest.raises(TextCNNError, match="unknown method"):
        run.resolve_methods(["textcnn", "bert"], None)
    with pytest.raises(TextCNNError, match="--vectors"):
        run.resolve_methods([NON_STATIC], None)
    with pytest.raises(TextCNNError, match="--vectors"):
        run.resolve_methods(["textcnn"], "/no/such/vectors.txt")


def test_fasttext_baseline_when_installed(data_root: Path) -> None:
    pytest.importorskip("fasttext")
    job = Job(method="fasttext", dataset="withdev", seed=0, data_root=str(data_root), threads=1)
    train, dev, test = data.load_splits(job.data_root, job.dataset)
    result = baselines.run_fasttext(job, train, dev, test)
    assert result["accuracy"] >= 0.8
    assert result["epochs"] == 25
    assert baselines.fasttext_line("Great<br />movie, REALLY!") == "great movie , really !"


def test_splits_are_shuffled_identically_for_every_method(data_root: Path) -> None:
    first = data.load_split(data_root, "nodev", "train")
    again = data.load_split(data_root, "nodev", "train", limit=50)
    assert first.texts[:50] == again.texts and first.labels[:50] == again.labels
    assert len(set(first.labels[:30])) > 1  # the label-sorted file no longer starts with one class


def test_a_failing_run_is_recorded_and_shown_not_fatal(data_root: Path, tmp_path: Path) -> None:
    job = Job(method="tfidf", dataset="gone", seed=0, data_root=str(data_root), threads=1)
    result = workers.run_job(job, tmp_path)
    assert "gone" in result["error"] and (result["dataset"], result["method"]) == ("gone", "tfidf")
    summary = reporting.summarize([result], peak_gflops=1.0)
    assert summary["runs"] == 0 and summary["errors"] == [result["error"]]
    report = {
        "command": "python -m scripts.bench",
        "date": "2026-01-01",
        "machine": measure.machine_info(1),
        "matmul_peak_gflops": 1.0,
        "matmul_size": 8,
        "notes": ["fastText skipped"],
        "results": {"gone": {"tfidf": {"runs": [result], "summary": summary}}},
    }
    markdown = reporting.render_markdown(report)
    assert f"| gone | tfidf | 0 | failed: {result['error']} |" in markdown
    assert "Note: fastText skipped" in markdown


def test_parallel_runs_come_back_in_job_order_with_sequential_scores(smoke, data_root: Path, tmp_path: Path) -> None:
    _, report, _, _ = smoke
    jobs = [
        Job(method="tfidf", dataset=name, seed=0, data_root=str(data_root), threads=1, max_test=100)
        for name in ("withdev", "gone", "nodev")
    ]
    results = workers.run_jobs(jobs, tmp_path, parallel=3)
    assert [r["dataset"] for r in results] == ["withdev", "gone", "nodev"]
    assert "error" in results[1]
    for result in (results[0], results[2]):
        sequential = report["results"][result["dataset"]]["tfidf"]["runs"][0]
        assert result["accuracy"] == sequential["accuracy"]  # tfidf is deterministic: same rows, same score


@pytest.mark.skipif(not HAS_PROC_CHILDREN, reason="reads child processes from Linux /proc")
def test_sigterm_ends_the_running_workers_too(data_root: Path, tmp_path: Path) -> None:
    slow = ["epochs=500", "patience=500", "batch_size=2", "embedding_dim=8", "num_filters=4", "device=cpu"]
    command = module_command("scripts.bench", "--data-root", str(data_root), "--datasets", "nodev")
    command += ["--methods", "textcnn", "--seeds", "3", "--parallel", "2", "--threads", "1"]
    command += ["--matmul-size", "64", "--out", str(tmp_path), *[a for p in slow for a in ("--textcnn-param", p)]]
    # From another folder: the driver and its workers find this checkout through child_env() alone.
    driver = subprocess.Popen(
        command, env=child_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers = wait_for_children(driver.pid, 2)
    assert len(workers) == 2  # --parallel 2: two of the three seeds at once
    driver.send_signal(signal.SIGTERM)
    assert driver.wait(timeout=30) == 128 + signal.SIGTERM
    assert not any(is_running(pid) for pid in workers)
    assert not (tmp_path / "results.json").exists()  # nothing half-written
