"""Worker subprocesses: every run is one job in a fresh interpreter, so its peak RSS is its own.

The driver writes a job as JSON, starts `python -m scripts.bench --worker JOB` (`run_job`), and reads
the result the worker wrote beside it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from scripts.bench.baselines import run_fasttext, run_tfidf
from scripts.bench.data import load_splits
from scripts.bench.jobs import NON_STATIC, Job
from scripts.bench.measure import peak_rss_mb, timed
from scripts.bench.processes import child_env, module_command
from scripts.bench.textcnn_method import run_textcnn

#: The module a worker runs: this benchmark's command line.
WORKER_MODULE = "scripts.bench"

RUNNERS = {"textcnn": run_textcnn, NON_STATIC: run_textcnn, "tfidf": run_tfidf, "fasttext": run_fasttext}


def run_worker(job_path: Path) -> None:
    """Subprocess side: run one job and write its result next to the job file."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    job = Job(**json.loads(job_path.read_text()))
    if RUNNERS[job.method] is run_textcnn:
        import torch

        torch.set_num_threads(job.threads)
    train, dev, test = load_splits(job.data_root, job.dataset, job.max_train, job.max_test)
    result = RUNNERS[job.method](job, train, dev, test)
    result.update(method=job.method, dataset=job.dataset, seed=job.seed, peak_rss_mb=peak_rss_mb())
    job_path.with_suffix(".result.json").write_text(json.dumps(result, default=str))


def run_job(job: Job, workdir: Path) -> dict[str, Any]:
    """Run `job` in a fresh interpreter; a failure comes back as {"error": ...}."""
    job_path = workdir / f"{job.dataset}-{job.method}-{job.seed}.json"
    job_path.write_text(json.dumps(asdict(job)))
    textcnn_spec = importlib.util.find_spec("textcnn")
    assert textcnn_spec is not None and textcnn_spec.origin is not None  # the driver has imported it
    env = child_env(Path(textcnn_spec.origin).parent.parent)  # the textcnn we run, then these scripts
    failure = {"method": job.method, "dataset": job.dataset, "seed": job.seed}
    with _workers_lock:
        if _stopping.is_set():
            return failure | {"error": "stopped before it started"}
        worker = subprocess.Popen(
            module_command(WORKER_MODULE, "--worker", str(job_path)),
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
