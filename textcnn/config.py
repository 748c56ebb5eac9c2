"""Configuration dataclasses: one describes a model, one describes how it is trained.

`ModelConfig` is everything needed to rebuild the network and its input pipeline at prediction
time; it is saved as `config.json` next to the weights. `TrainConfig` holds the fitting
hyper-parameters and is saved alongside for the record (it is never needed to predict).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Version of the model-directory layout. Bump when a saved key changes meaning.
FORMAT_VERSION = 1

EMBEDDING_MODES = ("rand", "static", "non-static", "multichannel")
OPTIMIZERS = ("adamw", "adadelta")
DEVICES = ("auto", "cpu", "cuda", "mps")
#: Which tokens a text longer than `max_length` keeps (see `textcnn.tokenization.keep_tokens`).
TRUNCATIONS = ("head", "tail", "head+tail")
#: How a filter's activations over a text become features: Kim's max-over-time, or max and mean
#: side by side (the mean sums evidence spread over a long text; "concat pooling", Howard & Ruder 2018).
POOLINGS = ("max", "max+mean")
#: Validation scores that early stopping and the choice of epochs to average can rank epochs by.
SELECT_METRICS = ("accuracy", "macro_f1")

#: "auto" sizes and the sizes they resolve to, for sentences or documents (see `textcnn.sizing`).
AUTO = "auto"

SENTENCE_MAX_LENGTH = 256
SENTENCE_NUM_FILTERS = 100  # Kim 2014
DOCUMENT_MAX_LENGTH = 512
DOCUMENT_NUM_FILTERS = 300
#: A median training text this long (in tokens) makes the data "documents". The sentence
#: benchmarks' medians are 10-24 tokens, IMDB's 217; a paragraph is around 100-150.
DOCUMENT_MEDIAN_TOKENS = 128


@dataclass
class ModelConfig:
    """Architecture of a Kim (2014) convolutional text classifier."""

    vocab_size: int
    num_classes: int
    embedding_dim: int = 300  # Kim 2014 (word2vec size); also fits most pretrained vectors
    kernel_sizes: tuple[int, ...] = (3, 4, 5)  # Kim 2014
    num_filters: int = 100  # per kernel size, Kim 2014
    dropout: float = 0.5  # Kim 2014
    max_length: int = 256  # tokens kept per text; longer texts are truncated
    truncation: str = "head+tail"  # a longer text keeps its first 1/4 and last 3/4 (Sun et al. 2019): +1.6 IMDB
    pad_id: int = 0
    embedding_mode: str = "rand"  # one of EMBEDDING_MODES
    pooling: str = "max"  # one of POOLINGS
    wide_convolution: bool = True  # windows also overlap the edges (Kim 2014 pads k-1 zeros each side): +0.7 TREC
    # Probabilities are softmax(logits / temperature): fitted on validation data after training
    # (`textcnn.calibration`); 1 leaves them as the network gives them, as in folders saved before.
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.kernel_sizes, str | int) or not all(_is_whole(k) for k in self.kernel_sizes):
            raise ValueError(
                f"kernel_sizes must be a sequence of whole numbers such as (3, 4, 5), not {self.kernel_sizes!r}"
            )
        self.kernel_sizes = tuple(int(k) for k in self.kernel_sizes)
        _check_types(
            self,
            whole=("vocab_size", "num_classes", "embedding_dim", "num_filters", "max_length", "pad_id"),
            real=("dropout", "temperature"),
        )
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, not {self.temperature!r}")
        validate_architecture(
            kernel_sizes=self.kernel_sizes,
            num_filters=self.num_filters,
            dropout=self.dropout,
            embedding_dim=self.embedding_dim,
            max_length=self.max_length,
        )
        if self.embedding_mode not in EMBEDDING_MODES:
            raise ValueError(f"embedding_mode must be one of {EMBEDDING_MODES}")
        if self.truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}")

    @property
    def feature_dim(self) -> int:
        """Width of the pooled feature vector fed to the output layer."""
        per_filter = 2 if self.pooling == "max+mean" else 1
        return self.num_filters * len(self.kernel_sizes) * per_filter

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kernel_sizes"] = list(self.kernel_sizes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        # Directories written before these options existed hold narrow, head-truncating models.
        return cls(**{"wide_convolution": False, "truncation": "head", "pooling": "max", **data})


@dataclass
class TrainConfig:
    """How a model is fitted. Defaults were chosen on validation data carved from training sets."""

    epochs: int = 20  # an upper bound: early stopping usually ends training sooner
    batch_size: int = 50  # Kim 2014
    lr: float = 5e-4  # AdamW; beat 1e-3 and 3e-4 on held-out parts of MR/SST-2/Subj train sets
    optimizer: str = "adamw"  # "adadelta" reproduces Kim 2014 (lr 1.0, rho 0.95)
    weight_decay: float = 0.0
    max_norm: float = 3.0  # Kim 2014: L2 cap on each output-layer weight vector; 0 disables
    grad_clip: float = 5.0  # global gradient-norm clip; 0 disables
    patience: int = 3  # epochs without validation-accuracy gain before stopping
    average_best: int = 5  # the kept weights average the N best validation epochs' (1 keeps the best only)
    valid_fraction: float = 0.1  # carved (stratified) from train when no validation set is given
    # After the carved validation split picked the epochs, train again on all rows: True, False, or
    # "auto" (sentences yes, documents no). Held-out, 8 seeds: MR +0.8, SST-2 +0.1, Subj +0.2, TREC +0.3;
    # IMDB, 3 seeds: -0.1. It costs about twice the training time.
    refit: bool | str = "auto"
    min_freq: int = 1  # tokens seen fewer times in training become [UNK]
    max_vocab: int | None = 50_000
    word_dropout: float = 0.2  # chance a training token becomes [UNK]: trains [UNK], regularises (+1-2 pts on MR)
    seed: int = 0
    device: str = "auto"
    # Weighted cross-entropy, scikit-learn's meaning: None (all 1), "balanced" (n / (k * count)), or a
    # {label: weight} dict; saved with labels as JSON keys (text), matched to classes by their text.
    class_weight: str | dict[str, float] | None = None
    select_metric: str = "accuracy"  # ranks validation epochs (early stopping, averaging): SELECT_METRICS
    # Fit a temperature on the validation data after training (`textcnn.calibration`); saved in
    # ModelConfig.temperature. With a refit, the validated run's temperature is kept.
    calibrate: bool = True

    def __post_init__(self) -> None:
        _check_types(
            self,
            whole=("epochs", "batch_size", "patience", "average_best", "min_freq", "seed"),
            real=("lr", "weight_decay", "max_norm", "grad_clip", "valid_fraction", "word_dropout"),
        )
        if self.epochs < 1:
            raise ValueError("epochs must be >= 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.lr <= 0:
            raise ValueError("lr must be > 0")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}")
        if self.patience < 1:
            raise ValueError("patience must be >= 1")
        if self.average_best < 1:
            raise ValueError("average_best must be >= 1")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError("valid_fraction must be between 0 and 1")
        if not (isinstance(self.refit, bool) or self.refit == "auto"):
            raise ValueError(f"refit must be True, False or 'auto', not {self.refit!r}")
        if self.min_freq < 1:
            raise ValueError("min_freq must be >= 1")
        if self.max_vocab is not None and self.max_vocab < 3:
            raise ValueError("max_vocab must be >= 3")
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError("word_dropout must be in [0, 1)")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}")
        self.class_weight = normalise_class_weight(self.class_weight)
        if not isinstance(self.calibrate, bool) and type(self.calibrate).__name__ != "bool_":  # numpy's too
            raise ValueError(f"calibrate must be True or False, not {self.calibrate!r}")
        self.calibrate = bool(self.calibrate)
        if self.select_metric not in SELECT_METRICS:
            raise ValueError(f"select_metric must be one of {SELECT_METRICS}, not {self.select_metric!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def normalise_class_weight(value: Any) -> str | dict[str, float] | None:
    """`class_weight` as `TrainConfig` keeps it: None, "balanced", or {label text: positive weight}."""
    if value is None or value == "balanced":
        return value
    if isinstance(value, str):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict of label -> weight, not {value!r}")
    if not isinstance(value, dict) or not value:
        raise ValueError(f"class_weight must be None, 'balanced' or a non-empty dict of label -> weight, not {value!r}")
    weights: dict[str, float] = {}
    for label, weight in value.items():
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise ValueError(f"class_weight[{label!r}] must be a number, not {weight!r}")
        number = float(weight)
        if not (math.isfinite(number) and number > 0):
            raise ValueError(f"class_weight[{label!r}] must be a finite number > 0, not {weight!r}")
        key = str(label.item() if hasattr(label, "item") else label)
        if key in weights:
            raise ValueError(f"class_weight names the label {key!r} twice")
        weights[key] = float(weight)
    return weights


def validate_architecture(
    *,
    kernel_sizes: tuple[int, ...],
    num_filters: int,
    dropout: float,
    embedding_dim: int,
    max_length: int,
) -> None:
    """Raise ValueError with a plain message for an impossible architecture."""
    if not kernel_sizes:
        raise ValueError("kernel_sizes must name at least one width")
    if any(k < 1 for k in kernel_sizes):
        raise ValueError("kernel_sizes must all be >= 1")
    if num_filters < 1:
        raise ValueError("num_filters must be >= 1")
    if not 0.0 <= dropout < 1.0:
        raise ValueError("dropout must be in [0, 1)")
    if embedding_dim < 1:
        raise ValueError("embedding_dim must be >= 1")
    if max_length < 1:
        raise ValueError("max_length must be >= 1")


def _is_whole(value: Any) -> bool:
    return (isinstance(value, int) or _is_numpy(value, "integer")) and not isinstance(value, bool)


def _is_numpy(value: Any, kind: str) -> bool:
    """Whether `value` is a numpy scalar of `kind` ("integer", "floating"), without importing numpy
    (the CLI reads this module's choice lists before any heavy import): a numpy value means numpy
    is imported already."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, getattr(numpy, kind))


def _check_types(config: Any, *, whole: Sequence[str], real: Sequence[str]) -> None:
    """A clear error for a setting of the wrong type ("5" for 5), before comparisons raise TypeError."""
    for name in whole:
        value = getattr(config, name)
        if not _is_whole(value):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
    for name in real:
        value = getattr(config, name)
        if not (_is_whole(value) or isinstance(value, float) or _is_numpy(value, "floating")):
            raise ValueError(f"{name} must be a number, not {value!r}")
