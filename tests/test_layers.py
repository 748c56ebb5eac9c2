"""The package's layers, read from the sources: which parts of textcnn may import which.

config  <-  model  <-  data, training, prediction, ...  <-  cli

Every import statement counts, inside functions too (a lazy import is still a dependency), in
all its forms: `import a.b`, `from a import b`, `from . import b`, `from ..a import b`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "textcnn"
#: Third-party packages too heavy for `textcnn.config`, which the CLI reads before deciding what to load.
HEAVY = ("torch", "datasets", "sklearn", "pyarrow", "tokenizers", "safetensors", "pandas", "scipy", "tqdm", "click")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` (the code of `module`) imports, relative imports made absolute.

    `from a import b` counts as importing `a` and `a.b` (b may be a sub-module).
    """
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def sources(*parts: str) -> list[Path]:
    """The .py files of textcnn/<parts> (a module or a sub-package)."""
    target = PACKAGE.joinpath(*parts)
    if target.with_suffix(".py").is_file():
        return [target.with_suffix(".py")]
    return sorted(target.rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def is_within(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(module + ".") for module in modules)


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """Per module, its imports that are one of `forbidden` or inside one of them."""
    bad = {}
    for path in paths:
        hits = sorted(name for name in imports_of(path) if is_within(name, forbidden))
        if hits:
            bad[module_name(path)] = hits
    return bad


def test_the_import_reader_resolves_every_form() -> None:
    code = (
        "import textcnn.cli.main\n"
        "import torch.nn as nn\n"
        "from . import persistence\n"
        "from .. import errors\n"
        "from ..data.loading import TEXT\n"
        "def lazy():\n"
        "    from textcnn.training import loop\n"
    )
    names = imported_modules(code, "textcnn.prediction.stream")
    expected = {
        "textcnn.cli.main",
        "torch.nn",
        "textcnn.prediction.persistence",
        "textcnn.errors",
        "textcnn.data.loading",
        "textcnn.training.loop",
    }
    assert expected <= names
    assert "textcnn.training" in imported_modules("from . import loop\n", "textcnn.training", is_package=True)
    assert is_within("textcnn.training.loop", ("textcnn.training",))
    assert not is_within("textcnn.training_notes", ("textcnn.training",))


def test_the_layers_have_modules_to_check() -> None:
    for parts in (("model",), ("config",), ("data",), ("training",), ("cli",)):
        assert sources(*parts), parts
    assert PACKAGE.joinpath("__main__.py").is_file()


def test_nothing_outside_the_cli_imports_the_cli() -> None:
    library = [p for p in sources() if p.relative_to(PACKAGE).parts[0] not in ("cli", "__main__.py")]
    assert PACKAGE / "model.py" in library and PACKAGE / "training" / "loop.py" in library
    assert offending(library, ("textcnn.cli",)) == {}


def test_the_model_depends_on_neither_data_nor_training() -> None:
    forbidden = ("textcnn.data", "textcnn.training", "textcnn.tokenization", "textcnn.persistence", "textcnn.cli")
    assert offending(sources("model"), forbidden) == {}


def test_config_imports_no_textcnn_module_and_nothing_heavy() -> None:
    assert offending(sources("config"), ("textcnn", *HEAVY)) == {}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("data", ("textcnn.training", "textcnn.prediction", "textcnn.cli")),
        (
            "training",
            ("textcnn.prediction.stream", "textcnn.prediction.readers", "textcnn.prediction.writers", "textcnn.cli"),
        ),
    ],
)
def test_lower_layers_do_not_import_higher_ones(layer: str, forbidden: tuple[str, ...]) -> None:
    assert offending(sources(layer), forbidden) == {}
