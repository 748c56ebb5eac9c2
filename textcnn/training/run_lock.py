"""One training run per output folder: an advisory lock file beside it (`runs/x.lock` for `runs/x`).

Two `textcnn train` commands given the same `--out` would otherwise both pass the output checks
before either wrote anything, then overwrite each other's checkpoint every epoch. The lock is an
`flock` on `OUT.lock`, so the kernel releases it when the process dies however it dies (a killed
run leaves no stale lock, at most an unlocked file that the next run reuses and removes).

The file is removed when the lock is released. Removing a lock file is racy unless every holder
checks, after locking, that the path still names the file it locked; `hold_run_lock` does, and
retries on a file that was removed under it.

Where `fcntl` does not exist (Windows) the lock is a no-op: runs there are not protected.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from textcnn.atomic import check_folder_possible, path_beside
from textcnn.devices import is_main_process
from textcnn.errors import TextCNNError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def lock_path_for(out: str | Path) -> Path:
    """The lock file of model directory `out`: a sibling named `OUT.lock`."""
    return path_beside(out, ".lock")


@contextlib.contextmanager
def hold_run_lock(out: str | Path) -> Iterator[Path | None]:
    """Hold the lock of `out` for the block, or fail at once if another process holds it.

    Yields the lock file's path (None where nothing is locked). Folders created for the lock file
    are removed again if they are still empty when the block ends (a run that failed). Under
    torchrun every process runs the same command with the same --out: only global rank 0 locks.
    """
    if fcntl is None or not is_main_process():
        yield None
        return
    path = lock_path_for(out)
    check_folder_possible(Path(out))
    created = [folder for folder in path.parents if not folder.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TextCNNError(f"cannot create {path.parent}: {error.strerror}") from None
    try:
        with _locked(path, out) as held:
            yield held
    finally:
        for folder in created:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def _locked(path: Path, out: str | Path) -> Iterator[Path]:
    while True:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise TextCNNError(f"cannot create the lock file {path}: {error.strerror}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise TextCNNError(
                f"another textcnn run is training into {out} (it holds {path}); wait for it to finish, "
                "or pick another `out`"
            ) from None
        if _names_the_same_file(path, descriptor):
            break
        os.close(descriptor)  # the previous holder removed it between our open and lock: retry
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while still locked, so no other process can be holding this file
        os.close(descriptor)


def _names_the_same_file(path: Path, descriptor: int) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)
