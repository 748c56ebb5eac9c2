"""Package attributes imported on first use: a package re-exports names without importing their modules.

`textcnn` and `textcnn.data` re-export names whose modules import torch or `datasets`; importing the
package itself (the CLI does, before it has parsed its arguments) must stay light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], module_of: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module `__getattr__` and `__dir__` for `package`, which finds each name of `module_of` in its module.

    A name found once is stored in `namespace` (the package's globals), so later look-ups do not
    come back here.
    """

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
