"""What the benchmark measures besides the runs themselves: scores, wall time, resident memory,
the matmul peak GFLOP/s that efficiencies are divided by, and facts about the machine."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The repository this benchmark belongs to (its git commit goes into every report).
REPO_ROOT = Path(__file__).resolve().parents[2]
MATMUL_SIZE = 2048
MATMUL_REPEATS = 5
CUDA_MATMUL_SIZE = 8192
CUDA_MATMULS_PER_TIMING = 10


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


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def score(y_true: Sequence[Any], y_pred: Sequence[Any]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


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
