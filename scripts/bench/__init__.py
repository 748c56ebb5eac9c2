"""The benchmark of textcnn against TF-IDF + logistic regression and fastText (`python -m scripts.bench`).

Convention for every script under `scripts/`: a script is a module of the `scripts` package, run from
the repository root as `python -m scripts.<name>` (this benchmark: `python -m scripts.bench --help`),
with its command line under `if __name__ == "__main__":`. It imports what it shares with other
scripts as ordinary modules (`from scripts.bench.measure import peak_rss_mb`, `from
scripts.heldout_eval import heldout_split`); none edits `sys.path` or loads a file by its path. A
script that runs itself (or another module) in a worker subprocess starts it with
`scripts.bench.processes.module_command("scripts.<name>", ...)` and `env=child_env()`, which put
this checkout first on the child's PYTHONPATH, so the child works from any folder. A larger
benchmark becomes a package like this one, with a `__main__.py` that calls its `cli.main`. Tests
import the modules directly (pytest puts the repository root on `sys.path`, see pyproject.toml).

Modules: `data` (benchmark folders `<root>/<name>/{train,dev,test}.csv`), `baselines` (TF-IDF + LR,
fastText), `textcnn_method`, `jobs` and `workers` (one fresh subprocess per run), `processes`,
`measure` (scores, RSS, timing, matmul peak, machine facts), `report` (summaries and tables), `run`
(one whole benchmark from parsed options) and `cli` (its argparse command line). No module here
imports torch or textcnn at import time: a baseline's worker must never load torch.
"""
