"""Whole-directory atomic writes: build beside the target, then rename into place.

A reader (or a later run) sees either the previous directory or the complete new one, never a
half-written mix, even when the writer is killed mid-way: the unfinished work lives in a hidden
sibling (`.NAME.tmp-XXXXXXXX`) that is removed on any failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from textcnn.errors import TextCNNError


@contextmanager
def atomic_directory(target: str | Path, *, may_replace: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield an empty temporary directory; on success it replaces `target` in one rename.

    An existing `target` is replaced only if `may_replace(target)` says it is ours to replace
    (for example a previous model), so a mistyped path never wipes unrelated files. A `target`
    that is a symbolic link is written where it points, and the link is left as it is.
    """
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()
    check_replaceable(target, may_replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        check_replaceable(target, may_replace)  # it may have appeared while we were writing
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_replaceable(target: Path, may_replace: Callable[[Path], bool]) -> None:
    """Raise `TextCNNError` if writing `target` would destroy something that is not ours."""
    if not target.exists():
        return
    if not target.is_dir():
        raise TextCNNError(f"{target} exists and is not a directory; choose another path")
    if any(target.iterdir()) and not may_replace(target):
        raise TextCNNError(f"{target} already exists and holds other files; choose a new or empty directory instead")


def _swap_into_place(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    # A non-empty directory cannot be renamed over: move the old one aside first.
    old = _sibling(target, "old")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}-{uuid.uuid4().hex[:8]}"


def new_file_mode() -> int:
    """The mode `open()` would give a new file: 0o666 less the umask (read without changing it).

    `tempfile.mkstemp` creates private (0600) files; files renamed into place from it should get
    the mode a plain `open()` would have given them.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def check_folder_possible(out: Path) -> None:
    """Fail early, before any work, when a parent of `out` is a file: `out` could never be written."""
    for folder in out.parents:
        if folder.exists():
            if not folder.is_dir():
                raise TextCNNError(f"cannot create {out}: {folder} is a file, not a folder")
            return


def path_beside(out: str | Path, suffix: str) -> Path:
    """The sibling of `out` named `out`'s name + `suffix` (`runs/x` -> `runs/x.lock`), for `.`
    and `..` too; a root folder has no sibling to write. For a symbolic link, the sibling of the
    folder it points to, where the model is written (`atomic_directory`): one lock and one
    checkpoint whichever name a run uses."""
    out = Path(out)
    if out.name in ("", "..") or out.is_symlink():
        out = out.resolve()
    if not out.name:
        raise TextCNNError(f"cannot write a model to {out}: it is a root folder; pick a folder inside it")
    return out.with_name(out.name + suffix)
