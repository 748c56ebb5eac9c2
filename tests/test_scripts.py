"""The scripts under scripts/ follow one convention: modules of the `scripts` package run with `python -m`."""

from __future__ import annotations

import ast
import importlib
import subprocess
from pathlib import Path

import pytest

from scripts.bench.processes import child_env, module_command

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
MODULES = sorted(
    ".".join(path.relative_to(SCRIPTS.parent).with_suffix("").parts)
    for path in SCRIPTS.rglob("*.py")
    if path.name != "__main__.py"
)


@pytest.mark.parametrize("module", MODULES)
def test_every_script_imports_as_a_module_of_the_scripts_package(module: str) -> None:
    """Their imports of one another resolve as package imports (none needs its own folder on sys.path)."""
    assert importlib.import_module(module).__name__ == module


@pytest.mark.parametrize("module", MODULES)
def test_no_script_edits_sys_path_or_loads_a_file_by_path(module: str) -> None:
    path = SCRIPTS.parent.joinpath(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    attributes = {f"{node.value.id}.{node.attr}" for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                  and isinstance(node.value, ast.Name)}  # fmt: skip
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "sys.path" not in attributes
    assert not names & {"spec_from_file_location", "run_path", "SourceFileLoader"}


def test_a_module_started_by_module_command_from_another_folder_finds_this_checkout(tmp_path: Path) -> None:
    """What worker subprocesses rely on: `-m scripts.X` with child_env() works whatever the child's folder."""
    command = module_command("scripts.bench", "--help")
    done = subprocess.run(command, env=child_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m scripts.bench ")
