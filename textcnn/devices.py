"""Device choice, mixed precision and torchrun/DistributedDataParallel set-up."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from textcnn.errors import TextCNNError


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks cuda > mps > cpu; an explicit device that is absent is a clear error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", _local_rank() if is_distributed() else 0)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TextCNNError("device 'cuda' was asked for but no CUDA GPU is visible; use `device=\"auto\"`")
        return torch.device("cuda", _local_rank() if is_distributed() else 0)
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise TextCNNError("device 'mps' was asked for but MPS is not available; use `device=\"auto\"`")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise TextCNNError(f"unknown device '{name}'; use auto, cpu, cuda or mps")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16; no autocast on CPU/MPS."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    dtype = autocast_dtype(device)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield


def is_distributed() -> bool:
    """True when launched by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def refuse_torchrun(command: str) -> None:
    """Refuse a single-process command launched by torchrun with more than one process.

    Every process would run the whole job: the report printed once per process, the same output
    file written by each. Only `train` shares its work among torchrun's processes.
    """
    if is_distributed():
        raise TextCNNError(
            f"textcnn {command} runs in a single process; run it without torchrun "
            f"(WORLD_SIZE is {os.environ['WORLD_SIZE']}; only train uses torchrun's processes)"
        )


def is_main_process() -> bool:
    """True unless torchrun started this process as a rank other than 0 (known before any process group)."""
    return int(os.environ.get("RANK", "0")) == 0


def is_first_process_on_node() -> bool:
    """True unless torchrun started this process as a local rank other than 0 on its machine."""
    return _local_rank() == 0


def _local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def log_level(self) -> int:
        """Level for progress messages: INFO on the main rank, DEBUG on the others (torchrun)."""
        return logging.INFO if self.is_main else logging.DEBUG


def setup_distributed(device: torch.device) -> ProcessGroup:
    """Join the torchrun process group (once); single-process runs get rank 0 of 1."""
    if not is_distributed():
        return ProcessGroup()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return ProcessGroup(rank=dist.get_rank(), world_size=dist.get_world_size())
