"""One-way architecture: library modules never import the CLI or click."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import textcnn

# `textcnn/__main__.py` is the `python -m textcnn` entry point: part of the CLI shell, like `cli/`.
LIBRARY_MODULES = [
    m.name
    for m in pkgutil.walk_packages(textcnn.__path__, "textcnn.")
    if not m.ispkg and m.name != "textcnn.__main__" and not m.name.startswith("textcnn.cli")
]


def _imported_names(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_library_modules_do_not_import_click() -> None:
    """Read from the sources: a third-party dependency may import click itself (some hub clients do)."""
    assert "textcnn.model" in LIBRARY_MODULES
    package = Path(textcnn.__file__).parent
    for module in LIBRARY_MODULES:
        source = package.joinpath(*module.split(".")[1:]).with_suffix(".py")
        assert source.is_file(), source
        imported = _imported_names(source)
        bad = {name for name in imported if name.split(".")[0] == "click" or name.startswith("textcnn.cli")}
        assert not bad, f"{module} imports {bad}"


def test_importing_the_library_loads_no_cli_module() -> None:
    code = (
        "import sys, importlib\n"
        f"for name in {LIBRARY_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m.startswith('textcnn.cli')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
