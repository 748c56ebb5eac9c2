"""The CLI pins glibc's mmap threshold so training's freed tensors go back to the system."""

from __future__ import annotations

import ctypes.util
import sys

import pytest
from click.testing import CliRunner

from textcnn.cli import main as cli_main
from textcnn.memory import limit_heap_fragmentation


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or "libc.so" not in (ctypes.util.find_library("c") or ""),
    reason="needs glibc",
)
def test_settings_apply_on_glibc() -> None:
    assert limit_heap_fragmentation() is True


def test_every_cli_command_applies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(cli_main, "limit_heap_fragmentation", lambda: calls.append(1) or True)
    result = CliRunner().invoke(cli_main.cli, ["eval", "no-such-model-dir", "no-such-data.csv"])
    assert result.exit_code != 0  # the command itself fails: the settings were applied before it ran
    assert calls == [1]
