"""One-way architecture: library modules never import the CLI or click."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import textcnn

LIBRARY_MODULES = [f"textcnn.{m.name}" for m in pkgutil.iter_modules(textcnn.__path__) if m.name != "cli"]


def test_library_modules_do_not_import_click() -> None:
    assert "textcnn.model" in LIBRARY_MODULES
    code = (
        "import sys, importlib\n"
        f"for name in {LIBRARY_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m == 'click' or m.startswith(('click.', 'textcnn.cli'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
