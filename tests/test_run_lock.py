"""One training run per --out: the lock file beside it (textcnn.training.run_lock) and `textcnn train` using it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from test_cli import TRAIN_OPTIONS, assert_clean_error, run, write_csv

from textcnn.persistence import is_model_dir
from textcnn.training.run_lock import hold_run_lock, lock_path_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the lock is an flock: POSIX only")

HOLD_THE_LOCK = """
import sys
from textcnn.training.run_lock import hold_run_lock
with hold_run_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def other_process_holding(tmp_path):
    """Start a process that holds the lock of tmp_path/model until the test ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path / "model")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    yield holder
    holder.communicate("\n", timeout=60)
    assert holder.returncode == 0


def test_a_second_training_into_the_same_out_is_refused_and_writes_nothing(tmp_path, other_process_holding) -> None:
    write_csv(tmp_path / "train.csv", 120, seed=0)
    result = run("train", tmp_path / "train.csv", "--out", tmp_path / "model", *TRAIN_OPTIONS)
    assert_clean_error(result, "another textcnn run is training into", "pick another --out")
    assert not (tmp_path / "model").exists()
    assert not (tmp_path / "model.checkpoint").exists()
    assert lock_path_for(tmp_path / "model").exists()  # still the holder's


def test_training_takes_the_lock_and_removes_it_when_done(tmp_path) -> None:
    write_csv(tmp_path / "train.csv", 120, seed=0)
    lock = lock_path_for(tmp_path / "model")
    lock.write_text("")  # left by a killed run: unlocked, so it must not block
    result = run("train", tmp_path / "train.csv", "--out", tmp_path / "model", *TRAIN_OPTIONS)
    assert result.exit_code == 0, result.output
    assert is_model_dir(tmp_path / "model")
    assert not lock.exists()


def test_a_failed_run_leaves_no_folder_or_lock_behind(tmp_path) -> None:
    result = run("train", tmp_path / "missing.csv", "--out", tmp_path / "new" / "deeper" / "model", *TRAIN_OPTIONS)
    assert_clean_error(result, "missing.csv")
    assert not (tmp_path / "new").exists()


SIGTERM_WHILE_LOADING = """
import os, signal, sys
import textcnn.data.loaders as loaders  # `textcnn train` imports load_source from here when it runs
from textcnn.cli.main import cli

def load_source(*args, **kwargs):  # a scheduler's kill while the data loads
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("SIGTERM did not stop the run")

loaders.load_source = load_source
cli(["train", sys.argv[1], "--out", sys.argv[2]])
"""


def test_sigterm_before_training_exits_143_and_releases_the_lock(tmp_path) -> None:
    write_csv(tmp_path / "train.csv", 60, seed=0)
    out = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-c", SIGTERM_WHILE_LOADING, str(tmp_path / "train.csv"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 143, result.stderr
    assert "Traceback" not in result.stderr
    assert not lock_path_for(out).exists()
    assert not out.exists()


def test_the_lock_is_exclusive_and_released_on_exit(tmp_path) -> None:
    with hold_run_lock(tmp_path / "model") as path:
        assert path == tmp_path / "model.lock"
        probe = subprocess.run(
            [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path / "model")], input="\n", capture_output=True, text=True
        )
        assert probe.returncode != 0 and "another textcnn run" in probe.stderr
    probe = subprocess.run(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path / "model")], input="\n", capture_output=True, text=True
    )
    assert probe.returncode == 0 and probe.stdout.strip() == "held", probe.stderr


def test_only_rank_0_of_a_torchrun_job_locks(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RANK", "1")
    with hold_run_lock(tmp_path / "model") as path:
        assert path is None
        assert not lock_path_for(tmp_path / "model").exists()


def test_a_symlinked_out_is_written_where_it_points_and_locked_there(tmp_path, other_process_holding) -> None:
    write_csv(tmp_path / "train.csv", 120, seed=0)
    (tmp_path / "link").symlink_to(tmp_path / "model", target_is_directory=True)
    result = run("train", tmp_path / "train.csv", "--out", tmp_path / "link", *TRAIN_OPTIONS)
    assert_clean_error(result, "another textcnn run is training into")  # the holder locked model, not link


def test_save_through_a_symlink_keeps_the_link(tmp_path, fitted) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    fitted.save(tmp_path / "link")
    fitted.save(tmp_path / "link")  # replacing the model too
    assert (tmp_path / "link").is_symlink() and is_model_dir(tmp_path / "real")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # nothing hidden left behind
