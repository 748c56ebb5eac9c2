"""CLI start-up: help without the heavy libraries, and Ctrl-C during start-up exits 130 quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "datasets", "sklearn", "pyarrow", "tokenizers")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])} | env
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment, timeout=300
    )


def test_importing_the_cli_and_printing_help_imports_no_heavy_library() -> None:
    result = run_python(
        f"""
        import sys
        import textcnn.cli.main
        from textcnn.cli.main import cli

        heavy = {HEAVY!r}
        loaded = [name for name in heavy if name in sys.modules]
        assert not loaded, ("import", loaded)
        for args in (["--help"], ["train", "--help"], ["eval", "--help"], ["predict", "--help"], ["vectors", "--help"]):
            cli.main(args, prog_name="textcnn", standalone_mode=False)
            loaded = [name for name in heavy if name in sys.modules]
            assert not loaded, (args, loaded)
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    assert "--embedding-mode [rand|static|non-static|multichannel]" in result.stdout  # choices still listed


def test_the_package_imports_light_and_still_gives_the_estimator() -> None:
    result = run_python(
        """
        import sys
        import textcnn

        assert "torch" not in sys.modules and "sklearn" not in sys.modules
        from textcnn import ModelConfig, TextCNNClassifier, TextCNNError

        assert "torch" in sys.modules and TextCNNClassifier.__module__ == "textcnn.classifier"
        assert "iter_predictions" in textcnn.__all__ and "predict_file" in textcnn.__all__
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _interrupt_while_importing(module: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `textcnn train` with a stand-in for `module` that stops start-up there (it says so in a
    marker file, then sleeps), and press Ctrl-C (SIGINT) at that moment."""
    fake = tmp_path / "fake"
    (fake / module).mkdir(parents=True)
    marker = tmp_path / "importing"
    (fake / module / "__init__.py").write_text(
        f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(120)\n", encoding="utf-8"
    )
    data = tmp_path / "train.csv"
    data.write_text("text,label\ngood,pos\nbad,neg\n", encoding="utf-8")
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(fake), str(REPO)])}
    command = [sys.executable, "-m", "textcnn.cli", "train", str(data), "--out", str(tmp_path / "model")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"start-up never imported {module}"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.parametrize("module", ["click", "torch"])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(module, tmp_path) -> None:
    """click: while the command line itself is imported; torch: while `train` imports its libraries."""
    result = _interrupt_while_importing(module, tmp_path)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "Aborted."
    assert not (tmp_path / "model").exists()
