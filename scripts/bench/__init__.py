"""The benchmark of textcnn against TF-IDF + logistic regression and fastText (`python -m scripts.bench`).

Convention for every script under `scripts/`: a script is a module of the `scripts` package, run from
the repository root as `python -m scripts.<name>` (this benchmark: `python -m scripts.bench --help`),
and imports what it shares with others as ordinary modules (`from scripts.bench.measure import
peak_rss_mb`, `from scripts.heldout_eval import heldout_split`); none touches `sys.path` or loads a
file by its path. A script that re-runs itself in a worker subprocess starts it with
`scripts.bench.workers.module_command(__spec__.name, ...)` and `child_env()`, which put this checkout
first on the child's PYTHONPATH. Tests import the modules directly (pytest puts the repository root on
`sys.path`). Shared helpers live here: `data` (benchmark folders `<root>/<name>/{train,dev,test}.csv`),
`baselines` (TF-IDF + LR, fastText), `textcnn_method`, `jobs` and `workers` (one fresh subprocess per
run), `measure` (RSS, timing, matmul peak, machine facts), `report` (summaries and tables) and `cli`.
No module here imports torch or textcnn at import time: a baseline's worker must never load torch.
"""
