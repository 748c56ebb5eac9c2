"""PNG plots for people to look at: a confusion matrix, training curves.

They need the optional extra `textcnn[plot]` (matplotlib), imported only when a plot is drawn.
Figures are drawn with matplotlib's object-oriented API on its Agg canvas, never through pyplot,
so no GUI backend is touched and a caller's own pyplot state is left alone. Files are written to
a temporary sibling and renamed into place, so a failed plot leaves no half-written PNG.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textcnn.atomic import new_file_mode
from textcnn.errors import TextCNNError

#: How to get the plots.
INSTALL_HINT = "pip install 'textcnn[plot]' (matplotlib)"
#: Written into the model folder by `textcnn train` when matplotlib is installed.
CURVES_FILE = "curves.png"


def plotting_available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def check_plotting(option: str = "plot") -> None:
    """Refuse a plot before any work when matplotlib is missing; `option` names what asked for it."""
    if not plotting_available():
        raise TextCNNError(f"{option} needs matplotlib, which is not installed: {INSTALL_HINT}")


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[Any], path: str | Path) -> Path:
    """A confusion matrix (rows: true class, columns: predicted) as a PNG at `path`.

    Cells are shaded by the share of their row (recall along the diagonal) so that classes of
    different sizes read alike, and hold the counts while there are few enough classes to read them.
    """
    import numpy as np

    figure_class = _figure_class()
    counts = np.asarray(matrix, dtype=np.int64)
    names = [str(label) for label in labels]
    n = len(names)
    if counts.shape != (n, n):
        raise TextCNNError(f"matrix must be {n} x {n} for {n} labels, got shape {counts.shape}")
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    side = min(4.0 + 0.45 * n, 24.0)
    figure = figure_class(figsize=(side + 1.5, side), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class", shrink=0.8)
    font = max(5.0, min(10.0, 200.0 / max(n, 1)))
    axes.set_xticks(range(n), names, rotation=45 if n > 3 or max(map(len, names), default=0) > 8 else 0, ha="right")
    axes.set_yticks(range(n), names)
    axes.tick_params(labelsize=font)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    total = int(counts.sum())
    accuracy = float(np.trace(counts)) / total if total else 0.0
    axes.set_title(f"confusion matrix (n={total}, accuracy {accuracy:.3f})")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                colour = "white" if shares[i, j] > 0.5 else "black"
                axes.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour, fontsize=font)
    return _save(figure, path)


def plot_training_curves(history: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Train and validation loss, and validation accuracy, per epoch, as a PNG at `path`.

    `history` holds the training records (`TextCNNClassifier.history_`, then `refit_history_`): a
    refit on all rows has no validation metrics, so its training loss is drawn as a line of its own.
    """
    validated = [r for r in history if not r.get("refit")]
    refit = [r for r in history if r.get("refit")]
    if not validated and not refit:
        raise TextCNNError("history has no epochs to plot")
    figure_class = _figure_class()
    figure = figure_class(figsize=(10, 4), dpi=100, layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    _line(loss_axes, validated, "train_loss", "train loss", "-o")
    _line(loss_axes, validated, "valid_loss", "validation loss", "-s")
    _line(loss_axes, refit, "train_loss", "refit on all rows: train loss", "--^")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss")
    loss_axes.set_title("loss")
    loss_axes.legend()
    drawn = _line(accuracy_axes, validated, "valid_accuracy", "validation accuracy", "-o", colour="tab:green")
    if drawn:  # the epoch training keeps as best: highest accuracy, then lowest validation loss
        best = max(validated, key=lambda r: (r["valid_accuracy"], -r.get("valid_loss", 0.0)))
        accuracy_axes.plot(
            [best["epoch"]],
            [best["valid_accuracy"]],
            "*",
            markersize=14,
            color="tab:orange",
            label=f"best: epoch {best['epoch']}, {best['valid_accuracy']:.4f}",
        )
        accuracy_axes.legend(loc="lower right")
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.set_title("validation accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    return _save(figure, path)


def _line(axes: Any, records: Sequence[dict[str, Any]], key: str, label: str, style: str, **kwargs: Any) -> bool:
    points = [(r["epoch"], r[key]) for r in records if r.get(key) is not None]
    if not points:
        return False
    epochs, values = zip(*points, strict=True)
    colour = kwargs.get("colour")
    axes.plot(epochs, values, style, label=label, markersize=4, **({"color": colour} if colour else {}))
    return True


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise TextCNNError(f"plots need matplotlib, which is not installed: {INSTALL_HINT}") from None
    return Figure


def _save(figure: Any, path: str | Path) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise TextCNNError(f"folder for the plot does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            figure.savefig(handle, format="png")
        os.chmod(tmp, new_file_mode())  # mkstemp makes it private; a plot need not be
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
