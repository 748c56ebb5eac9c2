"""Temperature scaling (Guo et al. 2017) and the measures of how well probabilities are calibrated.

A network trained on cross-entropy is usually over-confident: among the texts it gives 0.95, fewer
than 95% are right. Temperature scaling divides the logits by one number T > 0, fitted on the
validation data by minimising the negative log-likelihood, before the softmax. Dividing every
logit of a row by the same positive number keeps their order, so the predicted labels never
change; only the probabilities do. `ModelConfig.temperature` holds T (1 leaves them as they are).

Expected calibration error (ECE): the rows are put in 15 equal-width bins of their top
probability (confidence), and ECE is the bins' mean |accuracy - mean confidence|, each bin
weighted by its share of the rows. The Brier score is the mean over rows of the squared distance
between the probability vector and the one-hot true label (in [0, 2]; for two classes it is twice
scikit-learn's binary `brier_score_loss`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

#: Bins of the expected calibration error (Guo et al. 2017 use 15).
ECE_BINS = 15
#: The search range of T: beyond it, the probabilities are all but one-hot or all but uniform.
TEMPERATURE_BOUNDS = (0.05, 20.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean -log p(true class) under `softmax(logits / temperature)`."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_norm - scaled[np.arange(len(targets)), targets]))


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The T in `TEMPERATURE_BOUNDS` that minimises the NLL of (`logits`, `targets`).

    `targets` are positions in the logits' columns. A bounded 1-D search over log T (the NLL is
    smooth in it); no rows gives 1.
    """
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return 1.0
    low, high = (math.log(bound) for bound in TEMPERATURE_BOUNDS)
    found = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, targets, math.exp(log_t)),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    temperature = math.exp(float(found.x))
    # The search may end a hair from T = 1 when that is best: never worse than leaving them as they are.
    if negative_log_likelihood(logits, targets, temperature) > negative_log_likelihood(logits, targets):
        return 1.0
    return temperature


def reliability(probabilities: np.ndarray, targets: np.ndarray, n_bins: int = ECE_BINS) -> dict[str, Any]:
    """Per confidence bin (lo, hi]: row count, mean confidence and accuracy (None for an empty bin)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(targets)
    # Bin b holds confidences in (b/n, (b+1)/n]; a confidence of exactly 0 (impossible for a softmax) joins bin 0.
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    correct_sum = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins)
    filled = counts > 0
    return {
        "edges": np.linspace(0.0, 1.0, n_bins + 1).tolist(),
        "count": counts.tolist(),
        "confidence": [float(c / n) if n else None for c, n in zip(conf_sum, counts, strict=True)],
        "accuracy": [float(c / n) if n else None for c, n in zip(correct_sum, counts, strict=True)],
        "ece": float(np.abs(correct_sum[filled] - conf_sum[filled]).sum() / max(len(confidence), 1)),
    }


def expected_calibration_error(probabilities: np.ndarray, targets: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE over `n_bins` equal-width confidence bins (see the module docstring)."""
    return float(reliability(probabilities, targets, n_bins)["ece"])


def brier_score(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """Mean over rows of sum_k (p_k - [k == target])^2."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    one_hot = np.zeros_like(probabilities)
    one_hot[np.arange(len(probabilities)), np.asarray(targets)] = 1.0
    return float(((probabilities - one_hot) ** 2).sum(axis=1).mean())
