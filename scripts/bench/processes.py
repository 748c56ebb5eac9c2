"""How a script of this repository runs one of its modules (often itself) in a child process.

Only the standard library is imported here, so a child that measures its own memory pays nothing
for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: The folder that holds the `scripts` package: a child finds this checkout's scripts through it.
SCRIPTS_ROOT = Path(__file__).resolve().parents[2]


def module_command(module: str, *args: str) -> list[str]:
    """`python -m module args...` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def child_env(*first: str | Path) -> dict[str, str]:
    """This process's environment with `first`, then this checkout, first on PYTHONPATH: a child started
    from any folder imports the same `scripts` (and the textcnn beside them)."""
    env = dict(os.environ)
    paths = [str(path) for path in (*first, SCRIPTS_ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in (*paths, env.get("PYTHONPATH")) if p))
    return env
