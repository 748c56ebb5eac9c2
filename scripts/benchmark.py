"""Benchmark textcnn against TF-IDF + logistic regression and fastText, on the same splits.

Datasets are folders `<data-root>/<name>/{train,test}.csv` (and `dev.csv` where the dataset has
one) with columns `text,label`: Kim's (2014) sentence suite (mr, subj, trec, sst2) and IMDB.

Methods (each run in a fresh subprocess, so its peak RSS is its own):
  textcnn             TextCNNClassifier(seed=s) with default settings (+ any --textcnn-param).
  textcnn-non-static  the same with --vectors PATH, embedding_mode="non-static" (only with --vectors).
  tfidf               TF-IDF (word 1-2 grams, sublinear tf) + LogisticRegression, C by 5-fold CV on train.
  fasttext            fastText supervised (epoch 25, lr 0.5, wordNgrams 2), when `fasttext` imports.

Model selection never sees test data: a dataset with `dev.csv` (sst2) gives it to textcnn as its
validation set; the others let textcnn carve its own stratified 10% of train. The baselines use
train only. Every split is shuffled once with a fixed seed (IMDB's files are sorted by label), so
all methods and seeds see the same rows in the same order.

Writes `results.json` (every number, machine info) and `results.md` (tables) under --out and
prints the tables. Definitions of every measured quantity are in the JSON under "definitions".

Examples:
  python scripts/benchmark.py                                      # everything, 3 seeds (make bench)
  python scripts/benchmark.py --datasets mr,sst2,trec --seeds 1    # a subset
  python scripts/benchmark.py --datasets trec --methods tfidf      # one baseline on one dataset
  python scripts/benchmark.py --datasets mr --max-train 2000 --textcnn-param epochs=2   # smoke run
  python scripts/benchmark.py --datasets imdb --methods textcnn --vectors imdb.w2v   # + non-static
  python scripts/benchmark.py --datasets imdb --methods textcnn --parallel 3 --threads 1   # 3 seeds at once (GPU)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# No textcnn (hence torch) import at module level: a worker running a baseline never loads torch,
# so the peak RSS it reports is the baseline's own. Imports live in the functions that need them.

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS = ("mr", "subj", "trec", "sst2", "imdb")
METHODS = ("textcnn", "tfidf", "fasttext")
NON_STATIC = "textcnn-non-static"
DATA_SEED = 0  # one fixed shuffle of every split, shared by all methods and seeds
TFIDF_C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
TFIDF_CV_FOLDS = 5
FASTTEXT_PARAMS = {"epoch": 25, "lr": 0.5, "wordNgrams": 2}
MATMUL_SIZE = 2048
MATMUL_REPEATS = 5
CUDA_MATMUL_SIZE = 8192
CUDA_MATMULS_PER_TIMING = 10
FORWARD_TIMING_ROWS = 2000  # test rows timed again through the model alone (keeps IMDB's extra pass short)

DEFINITIONS = {
    "accuracy, macro_f1": "sklearn accuracy_score / f1_score(average='macro') on the full test split",
    "mean, std": "over seeds; std is the sample standard deviation (0 for one run); tfidf is deterministic: 1 run",
    "train_seconds": "wall time of fit(), everything included (tokenizer/vectorizer, CV over C, all epochs, "
    "validation passes)",
    "train_sentences_per_s": "training rows x epochs actually run / train_seconds (tfidf: 1 epoch, its CV fits "
    "included in the time; textcnn: rows left after carving the validation split, plus all rows x refit epochs)",
    "epochs, refit_epochs": "textcnn: epochs run with validation (early stopping), then epochs of the refit on all "
    "training rows (refit='auto': sentence data whose validation split was carved from train)",
    "predict_sentences_per_s": "test rows / wall time of one in-process predict() call on the whole test split "
    "(tokenization included)",
    "peak_rss_mb": "peak RSS (Linux VmHWM; ru_maxrss elsewhere) of the fresh subprocess that ran this method on "
    "this dataset: Python, libraries, data and model included (baseline workers never import torch); "
    "rss_before_fit_mb is the same process's RSS just before fit()",
    "matmul_peak_gflops": "best torch.matmul GFLOP/s of square matrices (2 n^3 FLOPs) on textcnn's device, "
    "measured at the start and end of the run: on CPU fp32 with the torch thread count used for training; on a GPU "
    "in matmul_dtype, the dtype of textcnn's autocast (bf16 where supported)",
    "textcnn train_gflops": "useful training FLOPs (textcnn.flops: 3 x forward per training row and epoch + "
    "forward per validation row and epoch, + 3 x forward per row of the refit's epochs; padding not counted) / seconds "
    "of the epoch loops",
    "textcnn inference_gflops": "useful forward FLOPs of the test split / predict() wall time (tokenization "
    "included); inference_model_gflops: the same for the model's batched forward pass alone (no tokenization), "
    f"timed on the first {FORWARD_TIMING_ROWS} (shuffled) test rows",
    "peak_fraction": "GFLOP/s divided by matmul_peak_gflops",
}


# ------------------------------------------------------------------------------------ data
@dataclass
class Split:
    texts: list[str]
    labels: list[Any]


@dataclass
class Job:
    """One method on one dataset with one seed: what a worker subprocess is told to do."""

    method: str
    dataset: str
    seed: int
    data_root: str
    threads: int
    max_train: int | None = None
    max_test: int | None = None
    textcnn_params: dict[str, Any] = field(default_factory=dict)
    vectors: str | None = None


def split_path(data_root: str | Path, dataset: str, split: str) -> Path:
    return Path(data_root) / dataset / f"{split}.csv"


def load_split(data_root: str | Path, dataset: str, split: str, limit: int | None = None) -> Split:
    """Read `<root>/<dataset>/<split>.csv`, shuffled with DATA_SEED, cut to `limit` rows."""
    import datasets

    path = split_path(data_root, dataset, split)
    # As textcnn.data.loaders reads CSV (without importing torch): texts such as "NA" stay text.
    table = datasets.load_dataset("csv", data_files=str(path), split="train", keep_default_na=False)
    missing = {"text", "label"} - set(table.column_names)
    if missing:
        raise user_error(f"{path} lacks column(s) {', '.join(sorted(missing))}; expected a header `text,label`")
    order = np.random.default_rng(DATA_SEED).permutation(len(table))
    if limit is not None:
        order = order[:limit]
    texts, labels = table["text"], table["label"]
    return Split([texts[i] for i in order], [labels[i] for i in order])


def load_splits(job: Job) -> tuple[Split, Split | None, Split]:
    """(train, dev or None, test) for the job's dataset."""
    train = load_split(job.data_root, job.dataset, "train", job.max_train)
    has_dev = split_path(job.data_root, job.dataset, "dev").is_file()
    dev = load_split(job.data_root, job.dataset, "dev") if has_dev else None
    test = load_split(job.data_root, job.dataset, "test", job.max_test)
    return train, dev, test


def check_data(data_root: str | Path, datasets: Sequence[str]) -> None:
    for dataset in datasets:
        for split in ("train", "test"):
            path = split_path(data_root, dataset, split)
            if not path.is_file():
                raise user_error(
                    f"{path} not found; --data-root must hold <name>/train.csv and <name>/test.csv for each dataset"
                )


# --------------------------------------------------------------------------------- methods
def score(y_true: Sequence[Any], y_pred: Sequence[Any]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def run_textcnn(job: Job, train: Split, dev: Split | None, test: Split) -> dict[str, Any]:
    """Fit and score TextCNNClassifier; also count its useful FLOPs for the efficiency table."""
    from textcnn import TextCNNClassifier
    from textcnn.data import stratified_split
    from textcnn.flops import forward_flops, forward_flops_per_token, training_flops
    from textcnn.inference import predict_logits
    from textcnn.tokenization import encode_batch

    params = dict(job.textcnn_params)
    if job.method == NON_STATIC:
        params.update(vectors=job.vectors, embedding_mode="non-static")
    classifier = TextCNNClassifier(seed=job.seed, **params)
    rss_before = current_rss_mb()
    if dev is not None:
        _, train_seconds = timed(classifier.fit, train.texts, train.labels, X_valid=dev.texts, y_valid=dev.labels)
        fit_texts, valid_texts = train.texts, dev.texts
    else:
        _, train_seconds = timed(classifier.fit, train.texts, train.labels)
        fit_idx, valid_idx = stratified_split(train.labels, classifier.train_config_.valid_fraction, job.seed)
        fit_texts = [train.texts[i] for i in fit_idx]
        valid_texts = [train.texts[i] for i in valid_idx]
    predictions, predict_seconds = timed(classifier.predict, test.texts)

    config = classifier.model_.config
    test_ids = encode_batch(classifier.tokenizer_, test.texts, config.max_length, config.truncation)
    forward_ids = test_ids[:FORWARD_TIMING_ROWS]
    _, forward_seconds = timed(predict_logits, classifier.model_, forward_ids, batch_size=classifier.predict_batch_size)

    def lengths(texts: list[str]) -> list[int]:
        return [len(ids) for ids in encode_batch(classifier.tokenizer_, texts, config.max_length, config.truncation)]

    fit_lengths, test_lengths = lengths(fit_texts), [len(ids) for ids in test_ids]
    valid_lengths = lengths(valid_texts)
    epochs, refit_epochs = len(classifier.history_), len(classifier.refit_history_)
    loop_seconds = sum(record["seconds"] for record in [*classifier.history_, *classifier.refit_history_])
    # A refit trains on the validation rows too, without validating.
    train_flops = epochs * (training_flops(config, fit_lengths) + forward_flops(config, valid_lengths))
    train_flops += refit_epochs * training_flops(config, fit_lengths + valid_lengths)
    rows_trained = len(fit_texts) * epochs + (len(fit_texts) + len(valid_texts)) * refit_epochs
    test_flops = forward_flops(config, test_lengths)
    forward_only_flops = forward_flops(config, test_lengths[:FORWARD_TIMING_ROWS])
    return {
        **score(test.labels, predictions),
        "validation": "dev" if dev is not None else f"carved {classifier.train_config_.valid_fraction:.0%} of train",
        "n_train": len(fit_texts),
        "n_valid": len(valid_texts),
        "n_test": len(test.texts),
        "epochs": epochs,
        "best_epoch": classifier.best_epoch_,
        "refit_epochs": refit_epochs,
        "train_seconds": train_seconds,
        "train_sentences_per_s": rows_trained / train_seconds,
        "predict_seconds": predict_seconds,
        "predict_sentences_per_s": len(test.texts) / predict_seconds,
        "rss_before_fit_mb": rss_before,
        "params": params,
        "train_tokens": int(sum(fit_lengths)),
        "test_tokens": int(sum(test_lengths)),
        "forward_flops_per_token": forward_flops_per_token(config),
        "train_loop_seconds": loop_seconds,
        "train_flops": train_flops,
        "train_gflops": train_flops / loop_seconds / 1e9,
        "inference_flops": test_flops,
        "inference_gflops": test_flops / predict_seconds / 1e9,
        "inference_model_rows": len(forward_ids),
        "inference_model_seconds": forward_seconds,
        "inference_model_gflops": forward_only_flops / forward_seconds / 1e9,
    }


def run_tfidf(job: Job, train: Split, dev: Split | None, test: Split) -> dict[str, Any]:
    """TF-IDF (1-2 grams, sublinear tf) + LogisticRegression with C picked by CV on train only.

    The vectorizer is fitted once on all of train, so the CV folds share its vocabulary and IDF
    (refitting it per fold would multiply the time on IMDB by ~35 for no change in the choice).
    liblinear is binary-only in scikit-learn >= 1.8, so multi-class tasks use one-vs-rest.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier

    def fit() -> tuple[TfidfVectorizer, GridSearchCV]:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        features = vectorizer.fit_transform(train.texts)
        linear = LogisticRegression(solver="liblinear")
        grid_name = "C"
        if len(set(train.labels)) > 2:
            linear, grid_name = OneVsRestClassifier(linear), "estimator__C"
        folds = StratifiedKFold(TFIDF_CV_FOLDS, shuffle=True, random_state=DATA_SEED)
        search = GridSearchCV(linear, {grid_name: list(TFIDF_C_GRID)}, cv=folds, scoring="accuracy", n_jobs=1)
        search.fit(features, train.labels)
        return vectorizer, search

    rss_before = current_rss_mb()
    (vectorizer, search), train_seconds = timed(fit)

    def predict(texts: list[str]) -> np.ndarray:
        return search.predict(vectorizer.transform(texts))

    predictions, predict_seconds = timed(predict, test.texts)
    return {
        **score(test.labels, predictions),
        "validation": f"{TFIDF_CV_FOLDS}-fold CV on train (C grid {list(TFIDF_C_GRID)})",
        "n_train": len(train.texts),
        "n_test": len(test.texts),
        "epochs": 1,
        "best_C": float(next(iter(search.best_params_.values()))),
        "cv_accuracy": float(search.best_score_),
        "n_features": len(vectorizer.vocabulary_),
        "train_seconds": train_seconds,
        "train_sentences_per_s": len(train.texts) / train_seconds,
        "predict_seconds": predict_seconds,
        "predict_sentences_per_s": len(test.texts) / predict_seconds,
        "rss_before_fit_mb": rss_before,
    }


def fasttext_line(text: str) -> str:
    """fastText reads whitespace-separated tokens, one text per line: lowercase, split off punctuation."""
    text = re.sub(r"<br\s*/?>", " ", text.lower())
    return " ".join(re.findall(r"\w+|[^\w\s]", text))


def run_fasttext(job: Job, train: Split, dev: Split | None, test: Split) -> dict[str, Any]:
    """fastText supervised with the issue's settings; labels travel as class indices."""
    import fasttext

    classes = sorted(set(train.labels), key=str)
    index = {label: i for i, label in enumerate(classes)}
    rss_before = current_rss_mb()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.txt"

        def fit() -> Any:
            lines = (
                f"__label__{index[y]} {fasttext_line(x)}\n" for x, y in zip(train.texts, train.labels, strict=True)
            )
            path.write_text("".join(lines), encoding="utf-8")
            return fasttext.train_supervised(
                input=str(path), thread=job.threads, seed=job.seed, verbose=0, **FASTTEXT_PARAMS
            )

        model, train_seconds = timed(fit)

    fallback = max(classes, key=train.labels.count)  # for texts with no token at all

    def predict(texts: list[str]) -> list[Any]:
        labels, _ = model.predict([fasttext_line(t) for t in texts])  # a list: avoids a NumPy 2 bug of 0.9.3
        return [classes[int(label[0].removeprefix("__label__"))] if label else fallback for label in labels]

    predictions, predict_seconds = timed(predict, test.texts)
    return {
        **score(test.labels, predictions),
        "validation": "none (fixed hyper-parameters)",
        "n_train": len(train.texts),
        "n_test": len(test.texts),
        "epochs": FASTTEXT_PARAMS["epoch"],
        "params": FASTTEXT_PARAMS,
        "train_seconds": train_seconds,
        "train_sentences_per_s": len(train.texts) * FASTTEXT_PARAMS["epoch"] / train_seconds,
        "predict_seconds": predict_seconds,
        "predict_sentences_per_s": len(test.texts) / predict_seconds,
        "rss_before_fit_mb": rss_before,
    }


RUNNERS = {"textcnn": run_textcnn, NON_STATIC: run_textcnn, "tfidf": run_tfidf, "fasttext": run_fasttext}


# ------------------------------------------------------------------ processes and machine
def current_rss_mb() -> float:
    """Resident set size now (Linux /proc), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process.

    Linux: VmHWM, the high-water mark of this process's own address space. Not ru_maxrss: after
    fork + exec it also holds the RSS of the forked copy of the parent (the whole benchmark driver,
    torch included) from before the exec.
    """
    try:
        status = Path("/proc/self/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 2**10
    except (OSError, StopIteration, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def run_worker(job_path: Path) -> None:
    """Subprocess side: run one job and write its result next to the job file."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    job = Job(**json.loads(job_path.read_text()))
    if RUNNERS[job.method] is run_textcnn:
        import torch

        torch.set_num_threads(job.threads)
    train, dev, test = load_splits(job)
    result = RUNNERS[job.method](job, train, dev, test)
    result.update(method=job.method, dataset=job.dataset, seed=job.seed, peak_rss_mb=peak_rss_mb())
    job_path.with_suffix(".result.json").write_text(json.dumps(result, default=str))


def run_job(job: Job, workdir: Path) -> dict[str, Any]:
    """Run `job` in a fresh interpreter; a failure comes back as {"error": ...}."""
    job_path = workdir / f"{job.dataset}-{job.method}-{job.seed}.json"
    job_path.write_text(json.dumps(asdict(job)))
    env = dict(os.environ)
    package_root = str(Path(importlib.util.find_spec("textcnn").origin).parent.parent)  # the textcnn we run
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    failure = {"method": job.method, "dataset": job.dataset, "seed": job.seed}
    with _workers_lock:
        if _stopping.is_set():
            return failure | {"error": "stopped before it started"}
        worker = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(job_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _workers.add(worker)
    try:
        _, stderr = worker.communicate()
    finally:
        with _workers_lock:
            _workers.discard(worker)
    result_path = job_path.with_suffix(".result.json")
    if worker.returncode != 0 or not result_path.is_file():
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        return failure | {"error": lines[-1] if lines else "?"}
    return json.loads(result_path.read_text())


#: Worker subprocesses running now, so that a SIGTERM to the driver can end them (`stop_workers`).
_workers: set[subprocess.Popen] = set()
_workers_lock = threading.Lock()
_stopping = threading.Event()


def stop_workers(signum: int, frame: object) -> None:
    """SIGTERM handler of the driver: kill the running workers, start no more, exit 128 + signum.

    Without it the driver would die alone and its workers would go on fitting as orphans.
    """
    _stopping.set()
    with _workers_lock:
        for worker in _workers:
            worker.kill()
    sys.exit(128 + signum)


def run_jobs(jobs: Sequence[Job], workdir: Path, parallel: int) -> list[dict[str, Any]]:
    """Results of `jobs`, in order, running up to `parallel` worker subprocesses at once.

    More than one at a time suits a machine with many cores or a GPU (give each run `--threads 1`);
    the runs then share the machine, so their timings are no longer each method's own.
    """
    results: list[dict[str, Any]] = [{} for _ in jobs]
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = {pool.submit(timed, run_job, job, workdir): index for index, job in enumerate(jobs)}
        for finished, future in enumerate(as_completed(futures), 1):
            index = futures[future]
            (result, seconds), job = future.result(), jobs[index]
            results[index] = result
            outcome = f"error: {result['error']}" if "error" in result else f"accuracy {result['accuracy']:.4f}"
            print(
                f"[{finished}/{len(jobs)}] {job.dataset} {job.method} seed {job.seed}: {outcome} ({seconds:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on SIGTERM: queued runs never start
    return results


def measure_matmul_peak(
    threads: int, size: int = MATMUL_SIZE, repeats: int = MATMUL_REPEATS, device: str = "cpu"
) -> tuple[float, str]:
    """Best GFLOP/s of `size` x `size` matmuls on the device textcnn trains on, and the dtype used.

    CPU: fp32 with `threads` torch threads. A GPU: the dtype textcnn's autocast computes in (CUDA:
    bf16, else fp16; fp32 elsewhere), `CUDA_MATMULS_PER_TIMING` products between synchronisations
    (one product is shorter than the timer's resolution).
    """
    import torch

    from textcnn.devices import autocast_dtype

    target = torch.device(device)
    dtype = autocast_dtype(target) or torch.float32
    products = 1 if target.type == "cpu" else CUDA_MATMULS_PER_TIMING
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        generator = torch.Generator(device=target).manual_seed(0)
        a = torch.randn(size, size, generator=generator, device=target, dtype=dtype)
        b = torch.randn(size, size, generator=generator, device=target, dtype=dtype)
        torch.matmul(a, b)  # warm-up
        synchronize(target)
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(products):
                torch.matmul(a, b)
            synchronize(target)
            best = min(best, (time.perf_counter() - started) / products)
    finally:
        torch.set_num_threads(previous)
    return 2 * size**3 / best / 1e9, str(dtype).removeprefix("torch.")


def synchronize(device: Any) -> None:
    """Wait for the GPU's queued work, so that wall-clock timings cover it (nothing to wait for on CPU)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def training_device(textcnn_params: dict[str, Any]) -> str:
    """The device TextCNNClassifier will pick with these parameters ("cpu", "cuda:0", ...)."""
    from textcnn.devices import resolve_device

    return str(resolve_device(str(textcnn_params.get("device", "auto"))))


def machine_info(threads: int, device: str = "cpu") -> dict[str, Any]:
    import sklearn
    import torch

    import textcnn

    cpu = platform.processor() or platform.machine()
    memory_gb = None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
        meminfo = Path("/proc/meminfo").read_text().split()
        memory_gb = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": memory_gb,
        "torch_threads": threads,
        "device": device,
        "gpu": torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "textcnn": textcnn.__version__,
        "fasttext": package_version("fasttext"),
        "git_commit": git_commit(),
    }
    return info


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """The commit, with "-dirty" when tracked files differ from it (a copy whose `.git` is stale
    shows up so, instead of naming a commit that is not the code that ran)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def fasttext_available() -> bool:
    return importlib.util.find_spec("fasttext") is not None


# ------------------------------------------------------------------------------- reporting
def mean_std(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(runs: list[dict[str, Any]], peak_gflops: float) -> dict[str, Any]:
    """Mean/std over the successful seeds of one method on one dataset."""
    ok = [run for run in runs if "error" not in run]
    summary: dict[str, Any] = {"runs": len(ok), "errors": [run["error"] for run in runs if "error" in run]}
    if not ok:
        return summary
    for key in ("accuracy", "macro_f1"):
        summary[f"{key}_mean"], summary[f"{key}_std"] = mean_std([run[key] for run in ok])
    for key in ("train_seconds", "train_sentences_per_s", "predict_sentences_per_s", "epochs"):
        summary[f"{key}_mean"] = statistics.fmean(run[key] for run in ok)
    summary["refit_epochs_mean"] = statistics.fmean(run.get("refit_epochs", 0) for run in ok)
    summary["peak_rss_mb_max"] = max(run["peak_rss_mb"] for run in ok)
    summary["rss_before_fit_mb_max"] = max(run["rss_before_fit_mb"] for run in ok)
    for key in ("train_gflops", "inference_gflops", "inference_model_gflops"):
        if key in ok[0]:
            summary[f"{key}_mean"] = statistics.fmean(run[key] for run in ok)
            summary[f"{key.removesuffix('_gflops')}_peak_fraction"] = summary[f"{key}_mean"] / peak_gflops
    return summary


def _epochs(summary: dict[str, Any]) -> str:
    """Mean epochs run, with the refit's added: "6.3 + 6.3 refit"."""
    refit = summary.get("refit_epochs_mean", 0)
    return f"{summary['epochs_mean']:.1f}" + (f" + {refit:.1f} refit" if refit else "")


def matmul_peak_line(report: dict[str, Any]) -> str:
    machine, size = report["machine"], report["matmul_size"]
    where = machine.get("gpu") or f"{machine['torch_threads']} thread(s)"
    dtype = report.get("matmul_dtype", "float32")
    return f"{dtype} matmul peak: {report['matmul_peak_gflops']:.1f} GFLOP/s ({size}x{size}, {where})"


def _percent(fraction: float) -> str:
    """One decimal, or two significant digits below 1% (a GPU's small-batch fractions)."""
    percent = 100 * fraction
    return f"{percent:.1f}" if percent >= 1 else f"{percent:.2g}"


def _pct(summary: dict[str, Any], key: str) -> str:
    mean, std = summary[f"{key}_mean"], summary[f"{key}_std"]
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if summary["runs"] > 1 else f"{100 * mean:.1f}"


def render_markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}; machine: {machine['cpu']}, {machine['usable_cores']} cores, "
        f"{machine['memory_gb']} GB; torch {machine['torch']}, {machine['torch_threads']} thread(s); "
        f"commit {machine['git_commit']}  ",
        f"{matmul_peak_line(report)}",
        "",
        "Accuracy and macro-F1 in % on test (mean ± std over seeds); times and throughputs are means, RSS the max.",
        "",
        "| dataset | method | runs | accuracy | macro-F1 | epochs | train s | train sent/s | predict sent/s "
        "| peak RSS MB | RSS at fit start MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    efficiency = []
    for dataset, methods in report["results"].items():
        for method, entry in methods.items():
            s = entry["summary"]
            if not s["runs"]:
                lines.append(f"| {dataset} | {method} | 0 | failed: {s['errors'][0]} | | | | | | | |")
                continue
            lines.append(
                f"| {dataset} | {method} | {s['runs']} | {_pct(s, 'accuracy')} | {_pct(s, 'macro_f1')} "
                f"| {_epochs(s)} | {s['train_seconds_mean']:.1f} | {s['train_sentences_per_s_mean']:,.0f} "
                f"| {s['predict_sentences_per_s_mean']:,.0f} | {s['peak_rss_mb_max']:,.0f} "
                f"| {s['rss_before_fit_mb_max']:,.0f} |"
            )
            if "train_gflops_mean" in s:
                efficiency.append(
                    f"| {dataset} | {method} | {s['train_gflops_mean']:.1f} | {_percent(s['train_peak_fraction'])} "
                    f"| {s['inference_gflops_mean']:.1f} | {_percent(s['inference_peak_fraction'])} "
                    f"| {s['inference_model_gflops_mean']:.1f} | {_percent(s['inference_model_peak_fraction'])} |"
                )
    if efficiency:
        lines += [
            "",
            "textcnn useful FLOP/s (analytic count, padding excluded) against the matmul peak; predict can pass"
            " 100%: on large inputs it sums precomputed token rows instead of running the convolutions counted:",
            "",
            "| dataset | method | train GFLOP/s | train % peak | predict GFLOP/s | predict % peak "
            "| forward-only GFLOP/s | forward-only % peak |",
            "|---|---|---|---|---|---|---|---|",
            *efficiency,
        ]
    if report["notes"]:
        lines += ["", *[f"Note: {note}" for note in report["notes"]]]
    return "\n".join(lines) + "\n"


def user_error(message: str) -> Exception:
    """A TextCNNError, imported only when needed (see the note on imports at the top)."""
    from textcnn.errors import TextCNNError

    return TextCNNError(message)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------------- driver
def parse_textcnn_params(items: Sequence[str]) -> dict[str, Any]:
    """`key=value` pairs for TextCNNClassifier; values are JSON where they parse, lists like `3,4,5` become tuples."""
    from textcnn import TextCNNClassifier

    allowed = set(TextCNNClassifier._get_param_names()) - {"seed"}
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in allowed:
            raise user_error(
                f"--textcnn-param {item!r}: expected key=value with key one of {', '.join(sorted(allowed))}"
            )
        if key == "kernel_sizes" or "," in raw:
            try:
                params[key] = tuple(int(part) for part in raw.split(","))
            except ValueError:
                raise user_error(f"--textcnn-param {item!r}: expected whole numbers separated by commas") from None
        else:
            try:
                params[key] = json.loads(raw)
            except json.JSONDecodeError:
                params[key] = raw
    return params


def resolve_methods(requested: Sequence[str], vectors: str | None) -> tuple[list[str], list[str]]:
    """Methods to run and notes on the ones skipped."""
    from textcnn import TextCNNClassifier

    unknown = sorted(set(requested) - set(METHODS) - {NON_STATIC})
    if unknown:
        raise user_error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    methods, notes = list(dict.fromkeys(requested)), []
    if "fasttext" in methods and not fasttext_available():
        methods.remove("fasttext")
        notes.append("fastText skipped: the `fasttext` module is not installed (pip install fasttext)")
    if NON_STATIC in methods and vectors is None:
        raise user_error(f"{NON_STATIC} needs --vectors PATH")
    if vectors is not None:
        missing = {"vectors", "embedding_mode"} - set(TextCNNClassifier._get_param_names())
        if missing:
            raise user_error(
                f"--vectors needs TextCNNClassifier parameters this textcnn lacks ({', '.join(sorted(missing))})"
            )
        if not Path(vectors).exists():
            raise user_error(f"--vectors {vectors}: file not found")
        if NON_STATIC not in methods:
            position = methods.index("textcnn") + 1 if "textcnn" in methods else 0
            methods.insert(position, NON_STATIC)
    return methods, notes


def run_benchmark(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Run every requested method on every requested dataset; return the full report."""
    import torch

    datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    if not datasets:
        raise user_error(f"--datasets names no dataset; give some of {','.join(DATASETS)}")
    check_data(args.data_root, datasets)
    for option in ("seeds", "max_train", "max_test", "threads", "parallel"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise user_error(f"--{option.replace('_', '-')} must be >= 1, got {value}")
    methods, notes = resolve_methods([m.strip() for m in args.methods.split(",") if m.strip()], args.vectors)
    textcnn_params = parse_textcnn_params(args.textcnn_param)
    threads = args.threads or torch.get_num_threads()
    device = training_device(textcnn_params)
    # A GPU needs large products to reach its peak; --matmul-size only shrinks the CPU's (for tests).
    matmul_size = args.matmul_size if device == "cpu" else max(args.matmul_size, CUDA_MATMUL_SIZE)
    first_peak, matmul_dtype = measure_matmul_peak(threads, matmul_size, device=device)
    peaks = [first_peak]

    jobs = [
        Job(
            method=method,
            dataset=dataset,
            seed=seed,
            data_root=str(args.data_root),
            threads=threads,
            max_train=args.max_train,
            max_test=args.max_test,
            textcnn_params=textcnn_params,
            vectors=args.vectors,
        )
        for dataset in datasets
        for method in methods
        for seed in (range(1) if method == "tfidf" else range(args.seeds))
    ]
    if args.parallel > 1:
        notes.append(f"{args.parallel} runs at a time: their times, throughputs and efficiencies overlap one another")
    results: dict[str, dict[str, Any]] = {dataset: {m: {"runs": []} for m in methods} for dataset in datasets}
    with tempfile.TemporaryDirectory(prefix="textcnn-bench-") as workdir:
        for job, result in zip(jobs, run_jobs(jobs, Path(workdir), args.parallel), strict=True):
            results[job.dataset][job.method]["runs"].append(result)
    peaks.append(measure_matmul_peak(threads, matmul_size, device=device)[0])
    peak = max(peaks)
    for methods_results in results.values():
        for entry in methods_results.values():
            entry["summary"] = summarize(entry["runs"], peak)
    return {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(threads, device),
        "settings": {
            "data_root": str(args.data_root),
            "datasets": datasets,
            "methods": methods,
            "seeds": args.seeds,
            "parallel": args.parallel,
            "max_train": args.max_train,
            "max_test": args.max_test,
            "textcnn_params": textcnn_params,
            "vectors": args.vectors,
            "tfidf_c_grid": list(TFIDF_C_GRID),
            "fasttext_params": FASTTEXT_PARAMS,
            "data_seed": DATA_SEED,
        },
        "definitions": DEFINITIONS,
        "matmul_size": matmul_size,
        "matmul_peak_gflops": peak,
        "matmul_dtype": matmul_dtype,
        "matmul_samples_gflops": peaks,
        "notes": notes,
        "results": results,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Examples:" + __doc__.split("Examples:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    default_root = REPO_ROOT.parent / "shared" / "benchmarks"
    parser.add_argument(
        "--data-root", type=Path, default=default_root, help="folder of <name>/{train,test}.csv (default %(default)s)"
    )
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset of %(default)s")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated subset of %(default)s,{NON_STATIC}"
    )
    parser.add_argument("--seeds", type=int, default=3, help="textcnn/fastText seeds 0..N-1 (default %(default)s)")
    parser.add_argument("--vectors", help=f"word vectors file: adds {NON_STATIC}")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results"),
        help="writes results.json and results.md (default %(default)s)",
    )
    parser.add_argument(
        "--textcnn-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a TextCNNClassifier default (repeatable), e.g. epochs=5 or kernel_sizes=3,4,5",
    )
    parser.add_argument("--max-train", type=int, help="use at most N (shuffled) training rows, for smoke runs")
    parser.add_argument("--max-test", type=int, help="use at most N (shuffled) test rows, for smoke runs")
    parser.add_argument("--threads", type=int, help="torch/fastText threads (default: torch's default)")
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="runs at a time (default %(default)s; more overlaps their timings: for many-core or GPU machines)",
    )
    parser.add_argument("--matmul-size", type=int, default=MATMUL_SIZE, help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        run_worker(args.worker)
        return 0
    from textcnn.errors import TextCNNError

    command = shlex.join(["python", "scripts/benchmark.py", *argv])
    previous_handler = signal.signal(signal.SIGTERM, stop_workers)
    try:
        report = run_benchmark(args, command)
        markdown = render_markdown(report)
        args.out.mkdir(parents=True, exist_ok=True)
        write_atomically(args.out / "results.json", json.dumps(report, indent=2, default=str) + "\n")
        write_atomically(args.out / "results.md", markdown)
    except TextCNNError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    print(markdown)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}", file=sys.stderr)
    failed = [run for ds in report["results"].values() for m in ds.values() for run in m["runs"] if "error" in run]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
