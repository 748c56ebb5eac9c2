"""`TextCNNClassifier`: the scikit-learn estimator, and the one training path the CLI uses too."""

from __future__ import annotations

import inspect
import logging
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import pyarrow as pa
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import check_is_fitted
from tokenizers import Tokenizer

from textcnn.config import ModelConfig, TrainConfig
from textcnn.data.loading import LABEL, TEXT, check_one_label_per_row, stratified_split
from textcnn.devices import ProcessGroup, resolve_device, setup_distributed
from textcnn.embeddings.transfer import (
    check_transfer_options,
    embedding_settings,
    initialise_model,
    load_source_model,
    load_vectors_for,
    report_coverage,
)
from textcnn.errors import TextCNNError
from textcnn.evaluation import class_indices
from textcnn.inference import predict_probabilities
from textcnn.model import TextCNN
from textcnn.persistence import SavedModel, load_model_dir, save_model_dir, to_json_value
from textcnn.projection import projection_for
from textcnn.sizing import (
    AUTO,
    Sizing,
    check_size,
    is_auto,
    median_token_count,
    resolve_sizing,
    sample_positions,
)
from textcnn.tokenization import (
    PAD_TOKEN,
    UNK_TOKEN,
    encode_batch,
    load_tokenizer,
    prepare_tokenizer,
    tokenize_dataset,
    train_tokenizer,
)
from textcnn.training.checkpoint import Checkpoint, CheckpointWriter, RunInfo, data_fingerprint, load_checkpoint
from textcnn.training.loop import EpochCallback, TrainingResult, seed_everything, train_model

if TYPE_CHECKING:
    from textcnn.explanation import Explanation

logger = logging.getLogger(__name__)

#: Estimator parameters that belong to the model architecture rather than to training.
_MODEL_PARAMS = (
    "embedding_dim",
    "kernel_sizes",
    "num_filters",
    "dropout",
    "max_length",
    "truncation",
    "pooling",
    "wide_convolution",
)

#: Settings that an `init_from` model or a given tokenizer decides instead of the user.
_TRANSFER_SHAPED = ("kernel_sizes", "num_filters", "min_freq", "max_vocab")

#: Sub-folder of a run's checkpoint folder that holds the refit's own checkpoint.
REFIT_CHECKPOINT = "refit"


@dataclass(frozen=True)
class _Phase:
    """What both trainings of a fit share: the validated one and the refit on all rows."""

    classes: np.ndarray
    sizing: Sizing
    source: SavedModel | None
    train_config: TrainConfig
    device: torch.device
    callbacks: Sequence[EpochCallback]
    should_stop: Callable[[], bool] | None


@dataclass(frozen=True)
class _Trained:
    model: TextCNN
    tokenizer: Tokenizer
    result: TrainingResult
    vectors_coverage: dict[str, Any] | None  # `report_coverage` when vectors were used


class TextCNNClassifier(ClassifierMixin, BaseEstimator):
    """Kim (2014) convolutional text classifier with a scikit-learn interface.

    Texts go in as a list / array / Series of strings; labels may be strings or integers and come
    back unchanged from `predict`. `predict_proba` columns follow `classes_`.

    Parameters mirror the CLI options of `textcnn train`; see `ModelConfig` and `TrainConfig` for
    the reasons behind each default. `tokenizer` is an optional path to an existing
    `tokenizer.json`; by default a word-level tokenizer is trained on the training texts.

    Pretrained word vectors (`vectors`, a word2vec / GloVe / fastText file) and Kim's four
    `embedding_mode`s are described in `textcnn.embeddings.transfer`: `None` means "rand" without vectors and
    "non-static" with them; `embedding_dim=None` means 300, or the vectors' size. `max_length` and
    `num_filters` "auto" mean Kim's 256 tokens and 100 filters for sentences, 512 and 300 when the
    median training text has 128 tokens or more (`textcnn.sizing`; the resolved sizes are in
    `model_.config`, the median in `median_tokens_`). `init_from` (a
    model directory) reuses that model's tokenizer, embeddings and convolutions and trains a new
    output layer, with the features frozen if `freeze_features`.

    Without validation data, `fit` carves a stratified `valid_fraction` of the training rows to
    pick the epochs (early stopping and `average_best`); `refit` then trains once more, from the
    same seed, on all rows for those epochs: True, False, or "auto", which refits sentence-length
    data but not documents (held-out accuracy: MR +0.8, SST-2 +0.1, Subj +0.2, TREC +0.3 points
    over 8 seeds; IMDB -0.1 over 3), for about twice the training time.
    """

    def __init__(
        self,
        *,
        embedding_dim: int | None = None,
        kernel_sizes: Sequence[int] = (3, 4, 5),
        num_filters: int | str = AUTO,
        dropout: float = 0.5,
        max_length: int | str = AUTO,
        truncation: str = "head+tail",
        pooling: str = "max",
        wide_convolution: bool = True,
        min_freq: int = 1,
        max_vocab: int | None = 50_000,
        tokenizer: str | None = None,
        vectors: str | None = None,
        embedding_mode: str | None = None,
        init_from: str | None = None,
        freeze_features: bool = False,
        epochs: int = 20,
        batch_size: int = 50,
        lr: float = 5e-4,
        optimizer: str = "adamw",
        weight_decay: float = 0.0,
        max_norm: float = 3.0,
        grad_clip: float = 5.0,
        patience: int = 3,
        average_best: int = 5,
        valid_fraction: float = 0.1,
        refit: bool | str = AUTO,
        word_dropout: float = 0.2,
        seed: int = 0,
        device: str = "auto",
        predict_batch_size: int = 256,
        verbose: bool = False,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.kernel_sizes = kernel_sizes
        self.num_filters = num_filters
        self.dropout = dropout
        self.max_length = max_length
        self.truncation = truncation
        self.pooling = pooling
        self.wide_convolution = wide_convolution
        self.min_freq = min_freq
        self.max_vocab = max_vocab
        self.tokenizer = tokenizer
        self.vectors = vectors
        self.embedding_mode = embedding_mode
        self.init_from = init_from
        self.freeze_features = freeze_features
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.max_norm = max_norm
        self.grad_clip = grad_clip
        self.patience = patience
        self.average_best = average_best
        self.valid_fraction = valid_fraction
        self.refit = refit
        self.word_dropout = word_dropout
        self.seed = seed
        self.device = device
        self.predict_batch_size = predict_batch_size
        self.verbose = verbose

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        X: Iterable[str],
        y: Iterable[Any],
        *,
        X_valid: Iterable[str] | None = None,
        y_valid: Iterable[Any] | None = None,
    ) -> TextCNNClassifier:
        """Train on texts `X` with labels `y`; validate on (`X_valid`, `y_valid`) or a 10% split."""
        if (X_valid is None) != (y_valid is None):
            raise ValueError("X_valid and y_valid must be given together")
        train = _as_dataset(X, y)
        valid = None
        if X_valid is not None and y_valid is not None:
            valid = _as_dataset(X_valid, y_valid, names=("X_valid", "y_valid"))
        return self.fit_dataset(train, valid)

    def fit_dataset(
        self,
        train: datasets.Dataset,
        valid: datasets.Dataset | None = None,
        *,
        callbacks: Sequence[EpochCallback] = (),
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> TextCNNClassifier:
        """Train on `datasets.Dataset`s with columns `text` and `label` (the CLI's entry point).

        Without `valid`, a stratified `valid_fraction` of `train` is carved off to pick the epochs,
        and then (`refit`) the model may be trained again on all of `train` for those epochs:
        `refit_` says whether it was. `callbacks` get every epoch's record, the refit's too (those
        have `"refit": True` and no validation metrics).

        With `checkpoint_dir`, a checkpoint is written there after every epoch and when
        `should_stop` (polled between steps) ends training early; `resume=True` continues the run
        saved there. After a stop, `interrupted_` is True and the model holds the best epoch so
        far (none if `best_epoch_` is 0).
        """
        if resume and checkpoint_dir is None:
            raise ValueError("resume=True needs the checkpoint_dir to resume from")
        check_one_label_per_row(train, source="the training data")
        if valid is not None:
            check_one_label_per_row(valid, source="the validation data")
        train_config = self._train_config()
        check_transfer_options(
            vectors=self.vectors,
            init_from=self.init_from,
            tokenizer=self.tokenizer,
            embedding_mode=self.embedding_mode,
            freeze_features=self.freeze_features,
        )
        checkpoint = load_checkpoint(checkpoint_dir) if resume else None
        device = resolve_device(train_config.device)
        self.process_group_: ProcessGroup = setup_distributed(device)

        all_rows = train
        train_labels = np.asarray(train[LABEL])
        classes = np.unique(train_labels)
        if len(classes) < 2:
            raise TextCNNError(
                f"training data has a single class ({to_json_value(classes[0])!r}); a classifier needs at least two"
            )
        carved = valid is None
        if not carved and self.refit is True:
            logger.warning("refit=True has no effect with validation data given: it is never trained on")
        if valid is None:
            train_idx, valid_idx = stratified_split(list(train_labels), train_config.valid_fraction, train_config.seed)
            valid = train.select(np.sort(valid_idx))
            train = train.select(np.sort(train_idx))
        valid_labels = np.asarray(valid[LABEL])
        known = np.isin(valid_labels, classes)
        if not known.all():
            unseen = sorted({str(v) for v in valid_labels[~known]})
            logger.warning("validation labels never seen in training are ignored: %s", ", ".join(unseen))
            valid = valid.select(np.flatnonzero(known))
        if len(valid) == 0:
            raise TextCNNError("the validation data is empty after removing labels unseen in training")

        source = load_source_model(self.init_from) if self.init_from is not None else None
        self._warn_unused_settings(source)
        given_tokenizer: Tokenizer | None = None  # one the user chose: every phase uses it
        if source is not None:
            given_tokenizer = source.tokenizer
        elif self.tokenizer is not None:
            given_tokenizer = prepare_tokenizer(load_tokenizer(self.tokenizer))
        # A resumed run must map words to the same ids as the interrupted one.
        tokenizer = checkpoint.tokenizer if checkpoint is not None else given_tokenizer
        sizing = self._sizing(train, tokenizer, source)
        phase = _Phase(
            classes=classes,
            sizing=sizing,
            source=source,
            train_config=train_config,
            device=device,
            callbacks=callbacks,
            should_stop=should_stop,
        )
        validated = self._train_phase(phase, train, valid, tokenizer, checkpoint_dir, checkpoint)
        self.history_ = validated.result.history
        self.best_epoch_ = validated.result.best_epoch
        self.averaged_epochs_ = validated.result.averaged_epochs
        self.valid_accuracy_ = validated.result.final_valid_accuracy
        self.refit_history_: list[dict[str, Any]] = []
        self.refit_ = False  # the final model was trained on all rows
        self.refit_stopped_ = False  # `should_stop` ended the refit: the model is the validated one
        final = validated
        if carved and self._refit_applies(sizing) and validated.result.best_epoch and not validated.result.interrupted:
            epochs = validated.result.averaged_epochs or [validated.result.best_epoch]
            refitted = self._refit(phase, all_rows, epochs, given_tokenizer, checkpoint_dir, resume=resume)
            self.refit_history_ = refitted.result.history
            if refitted.result.interrupted:
                self.refit_stopped_ = True
            else:
                final, self.refit_ = refitted, True
            self.interrupted_ = refitted.result.interrupted
        else:
            self.interrupted_ = validated.result.interrupted
        self.model_ = final.model
        self.tokenizer_ = final.tokenizer
        self.vectors_coverage_ = final.vectors_coverage
        self.classes_ = classes
        self.train_config_ = train_config
        return self

    def _refit(
        self,
        phase: _Phase,
        all_rows: datasets.Dataset,
        epochs: list[int],
        given_tokenizer: Tokenizer | None,
        checkpoint_dir: str | Path | None,
        *,
        resume: bool,
    ) -> _Trained:
        """Train again on every row, the carved validation rows too, for the epochs validation picked.

        Same seed and settings; the vocabulary is rebuilt from all rows. Checkpointed in a
        sub-folder of the run's checkpoint, so a stop during the refit resumes the refit.
        """
        logger.log(
            self.process_group_.log_level,
            "refit: training again on all %d rows for epochs %s (the carved validation rows included)",
            len(all_rows),
            ",".join(map(str, epochs)),
        )
        refit_dir = Path(checkpoint_dir) / REFIT_CHECKPOINT if checkpoint_dir is not None else None
        checkpoint = None
        if resume and refit_dir is not None and refit_dir.is_dir():  # the run stopped during the refit
            checkpoint = load_checkpoint(refit_dir)
        tokenizer = checkpoint.tokenizer if checkpoint is not None else given_tokenizer
        return self._train_phase(phase, all_rows, None, tokenizer, refit_dir, checkpoint, average_epochs=epochs)

    def _train_phase(
        self,
        phase: _Phase,
        train: datasets.Dataset,
        valid: datasets.Dataset | None,
        tokenizer: Tokenizer | None,
        checkpoint_dir: str | Path | None,
        checkpoint: Checkpoint | None,
        *,
        average_epochs: Sequence[int] | None = None,
    ) -> _Trained:
        """Build the tokenizer (unless given), the model, and train it; `valid=None` with `average_epochs`."""
        train_config, sizing = phase.train_config, phase.sizing
        if tokenizer is None:
            tokenizer = train_tokenizer(
                train[TEXT],
                min_freq=train_config.min_freq,
                max_vocab=train_config.max_vocab,
                max_length=sizing.max_length,
                truncation=self.truncation,
            )
        pad_id = tokenizer.token_to_id(PAD_TOKEN)
        unk_id = tokenizer.token_to_id(UNK_TOKEN)
        vectors = None
        if self.vectors is not None:
            vectors = load_vectors_for(
                self.vectors, tokenizer, embedding_dim=self.embedding_dim, seed=train_config.seed
            )
        model_config = self._model_config(
            vocab_size=tokenizer.get_vocab_size(),
            num_classes=len(phase.classes),
            pad_id=pad_id,
            **(
                {"max_length": sizing.max_length, "num_filters": sizing.num_filters}
                | embedding_settings(
                    embedding_dim=self.embedding_dim,
                    embedding_mode=self.embedding_mode,
                    vectors=vectors,
                    source=phase.source,
                )
            ),
        )

        show_progress = True if self.verbose else None

        def token_ids(data: Any) -> list[list[int]]:
            length, truncation = model_config.max_length, model_config.truncation
            return list(tokenize_dataset(data, tokenizer, length, truncation, show_progress=show_progress)["input_ids"])

        def targets(data: Any) -> np.ndarray:
            return np.searchsorted(phase.classes, np.asarray(data[LABEL]))

        train_ids, train_targets = token_ids(train), targets(train)
        valid_ids, valid_targets = (token_ids(valid), targets(valid)) if valid is not None else ([], targets(train)[:0])
        coverage = report_coverage(vectors, train_ids, pad_id) if vectors is not None else None
        writer = None
        if checkpoint_dir is not None:
            train_settings = train_config.to_dict()
            # The files a run starts from: a resume, and its refit, must use the same ones.
            for source in ("tokenizer", "init_from", "vectors"):
                given = getattr(self, source)
                train_settings[source] = None if given is None else str(given)
            if average_epochs is not None:
                train_settings["refit_epochs"] = list(average_epochs)
            run = RunInfo(
                model_config=model_config.to_dict(),
                train_config=train_settings,
                classes=[to_json_value(c) for c in phase.classes],
                data_fingerprint=data_fingerprint(train_ids, train_targets, valid_ids, valid_targets),
                world_size=self.process_group_.world_size,
            )
            if checkpoint is not None:
                checkpoint.check_resumable(run)
            if self.process_group_.is_main:
                writer = CheckpointWriter(checkpoint_dir, run=run, tokenizer=tokenizer)
        seed_everything(train_config.seed)  # the initial weights depend on the seed too
        model = TextCNN(model_config)
        initialise_model(model, vectors=vectors, source=phase.source, freeze_features=self.freeze_features)
        result = train_model(
            model,
            train_ids,
            train_targets,
            valid_ids,
            valid_targets,
            train_config,
            device=phase.device,
            unk_id=unk_id if unk_id is not None else pad_id,
            process_group=self.process_group_,
            callbacks=phase.callbacks,
            show_progress=show_progress,
            resume=checkpoint.state if checkpoint is not None else None,
            should_stop=phase.should_stop,
            on_checkpoint=writer,
            average_epochs=average_epochs,
        )
        model.eval()
        return _Trained(model=model, tokenizer=tokenizer, result=result, vectors_coverage=coverage)

    # -------------------------------------------------------------- prediction
    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Probabilities of shape (n_samples, n_classes), columns ordered like `classes_`."""
        check_is_fitted(self, "model_")
        batch_size = self._checked_predict_batch_size()
        config = self.model_.config
        ids = encode_batch(self.tokenizer_, _as_texts(X), config.max_length, config.truncation)
        projection = projection_for(self.model_, ids)
        return predict_probabilities(self.model_, ids, batch_size=batch_size, projection=projection)

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """Labels from `classes_`, one per text."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def explain(self, X: Iterable[str], top: int | None = 10, label: Any = None) -> list[Explanation]:
        """Per text, the n-grams behind its logit for `label` (default: the predicted class), exactly.

        Each `Explanation` holds the label, the `top` n-grams by absolute contribution (None: all)
        with their token spans, input text and character offsets, the bias, and the same for the
        margin over the runner-up class: contributions plus bias equal the logit (see
        `textcnn.explanation`).
        """
        check_is_fitted(self, "model_")
        from textcnn.explanation import explain_texts

        batch_size = self._checked_predict_batch_size()
        return explain_texts(
            self.model_, self.tokenizer_, self.classes_, _as_texts(X), top=top, label=label, batch_size=batch_size
        )

    def score(self, X: Iterable[str], y: Iterable[Any], sample_weight: Any = None) -> float:
        """Accuracy of `predict(X)` against `y`, for any labels `fit` takes.

        `ClassifierMixin.score` compares the labels themselves, and scikit-learn refuses floats
        that are not whole numbers ("continuous is not supported"), which `fit` takes as classes
        like any other label; here both sides are positions in `classes_` (a label never trained
        on is never right).
        """
        expected = class_indices(_as_labels(y), self.classes_)
        predicted = self.predict_proba(X).argmax(axis=1)  # already positions in classes_
        return float(accuracy_score(expected, predicted, sample_weight=sample_weight))

    # ------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write a self-contained model directory (JSON, tokenizer.json, safetensors)."""
        check_is_fitted(self, "model_")
        return save_model_dir(
            path,
            model=self.model_,
            tokenizer=self.tokenizer_,
            classes=self.classes_,
            train_config=getattr(self, "train_config_", None),
            history=[*getattr(self, "history_", []), *getattr(self, "refit_history_", [])],
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> TextCNNClassifier:
        """Rebuild a fitted estimator from a model directory written by `save` or the CLI."""
        saved = load_model_dir(path, device=str(resolve_device(device)))
        config = saved.model.config
        params: dict[str, Any] = {name: getattr(config, name) for name in _MODEL_PARAMS}
        params["embedding_mode"] = config.embedding_mode
        if saved.train_config is not None:
            valid_names = cls._get_param_names()
            params.update({k: v for k, v in saved.train_config.to_dict().items() if k in valid_names})
        params["device"] = device
        estimator = cls(**params)
        estimator.model_ = saved.model
        estimator.tokenizer_ = saved.tokenizer
        estimator.classes_ = np.asarray(saved.classes)
        estimator.train_config_ = saved.train_config
        estimator.history_ = [record for record in saved.history if not record.get("refit")]
        estimator.refit_history_ = [record for record in saved.history if record.get("refit")]
        return estimator

    def __sklearn_tags__(self) -> Any:
        """Texts in, as scikit-learn's own text vectorizers declare it (not a 2-D array of numbers)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    def _more_tags(self) -> dict[str, Any]:
        """The same for scikit-learn before 1.6, which reads these instead."""
        return {"X_types": ["string"]}

    # ----------------------------------------------------------------- helpers
    def _sizing(self, train: datasets.Dataset, tokenizer: Tokenizer | None, source: SavedModel | None) -> Sizing:
        """Resolve "auto" `max_length` / `num_filters` from the training texts' median length.

        An `init_from` model's filters are its own, whatever `num_filters` says.
        """
        try:
            check_size("max_length", self.max_length)
            check_size("num_filters", self.num_filters)
        except ValueError as error:
            raise TextCNNError(str(error)) from None
        num_filters = source.model.config.num_filters if source is not None else self.num_filters
        median = None
        if is_auto(self.max_length) or is_auto(num_filters) or is_auto(self.refit):
            median = median_token_count(train.select(sample_positions(len(train)))[TEXT], tokenizer)
        sizing = resolve_sizing(self.max_length, num_filters, median)
        if median is not None:
            logger.log(
                self.process_group_.log_level,
                "median training text: %g tokens (%s): max_length %d, %d filters per width",
                median,
                "documents" if sizing.for_documents else "sentences",
                sizing.max_length,
                sizing.num_filters,
            )
        self.median_tokens_ = median
        return sizing

    def _refit_applies(self, sizing: Sizing) -> bool:
        """Whether to refit on all rows once a carved validation split has picked the epochs.

        "auto" refits sentence-length data: held-out accuracy, 8 seeds each, MR +0.8, SST-2 +0.1,
        Subj +0.2, TREC +0.3 points; on IMDB's long reviews (3 seeds) -0.1, for 1.7x the training.
        """
        if is_auto(self.refit):
            return not sizing.for_documents
        return bool(self.refit)

    def _model_config(self, *, vocab_size: int, num_classes: int, pad_id: int, **decided: Any) -> ModelConfig:
        """`decided`: fields fixed by pretrained vectors or an `init_from` model (see `embedding_settings`)."""
        try:
            return ModelConfig(
                vocab_size=vocab_size,
                num_classes=num_classes,
                pad_id=pad_id,
                **({name: getattr(self, name) for name in _MODEL_PARAMS} | decided),
            )
        except ValueError as error:
            raise TextCNNError(str(error)) from None

    def _warn_unused_settings(self, source: SavedModel | None) -> None:
        """Say so when a setting changed from its default cannot apply.

        An `init_from` model keeps its own convolutions (kernel sizes, filters) and vocabulary; a
        given tokenizer brings its own vocabulary, so `min_freq` and `max_vocab` shape nothing.
        """
        parameters = inspect.signature(type(self).__init__).parameters
        changed = {name for name in _TRANSFER_SHAPED if getattr(self, name) != parameters[name].default}
        if source is not None:
            config = source.model.config
            for name in sorted(changed & {"kernel_sizes", "num_filters"}):
                value, kept = getattr(self, name), getattr(config, name)
                if np.atleast_1d(value).tolist() != np.atleast_1d(kept).tolist():
                    logger.warning("%s=%r is not used: the init_from model keeps its own, %r", name, value, kept)
        if source is not None or self.tokenizer is not None:
            origin = "the init_from model" if source is not None else "the given tokenizer"
            for name in sorted(changed & {"min_freq", "max_vocab"}):
                logger.warning("%s=%r is not used: the vocabulary is %s's", name, getattr(self, name), origin)

    def _checked_predict_batch_size(self) -> int:
        """Checked at fit and again at predict, where it may have been set since (0 would never end)."""
        if not isinstance(self.predict_batch_size, int) or self.predict_batch_size < 1:
            raise TextCNNError(f"predict_batch_size must be an integer >= 1, got {self.predict_batch_size!r}")
        return self.predict_batch_size

    def _train_config(self) -> TrainConfig:
        self._checked_predict_batch_size()
        if self.embedding_dim is not None and (not isinstance(self.embedding_dim, int) or self.embedding_dim < 1):
            raise TextCNNError(f"embedding_dim must be an integer >= 1 or None, got {self.embedding_dim!r}")
        try:
            return TrainConfig(
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                optimizer=self.optimizer,
                weight_decay=self.weight_decay,
                max_norm=self.max_norm,
                grad_clip=self.grad_clip,
                patience=self.patience,
                average_best=self.average_best,
                valid_fraction=self.valid_fraction,
                refit=self.refit,
                min_freq=self.min_freq,
                max_vocab=self.max_vocab,
                word_dropout=self.word_dropout,
                seed=self.seed,
                device=self.device,
            )
        except ValueError as error:
            raise TextCNNError(str(error)) from None


def _as_texts(X: Any, name: str = "X") -> list[str]:
    """Accept lists, numpy arrays and pandas Series of texts; missing values become ''.

    A rows-by-columns input with one column (a one-column DataFrame, an (n, 1) array: what
    `ColumnTransformer` hands on for a list of one column) is that column.
    """
    if isinstance(X, str | bytes):  # a ValueError like every other data error (scikit-learn's vectorizers agree)
        raise TextCNNError("expected a sequence of texts, got a single string; wrap it in a list")
    values = _one_column(X, name, "text", "df['text']")
    nested = _first_nested(values)
    if nested is not None:
        raise ValueError(
            f"{name} holds lists, not texts (the first at index {nested}); pass one string per row, e.g. df['text']"
        )
    return [v if isinstance(v, str) else ("" if _is_missing(v) else str(v)) for v in values]


def _as_labels(y: Any, name: str = "y") -> list[Any]:
    """`y` as a list of labels, one per row, all strings or all numbers (or all booleans)."""
    if isinstance(y, str | bytes):  # else its characters (or bytes) would become the labels
        raise TextCNNError(f"{name} must be a sequence of labels, got a single string; wrap it in a list")
    values = _one_column(y, name, "label", "df['label']")
    nested = _first_nested(values)
    if nested is not None:
        raise ValueError(
            f"{name} holds lists of labels (the first at index {nested}); textcnn trains single-label "
            "classifiers: one label per row"
        )
    examples: dict[str, Any] = {}
    for value in values:
        if not _is_missing(value):
            examples.setdefault(_label_kind(value), value)
    if len(examples) > 1:
        shown = " and ".join(repr(to_json_value(v)) for v in examples.values())
        raise ValueError(f"{name} mixes label types ({shown}); give every label one type, e.g. all strings")
    return values


def _one_column(data: Any, name: str, item: str, example: str) -> list[Any]:
    """The values of a 1-D `data`, or of the one column of a 2-D one; other shapes are refused.

    Without this, a DataFrame gives its column names (what iterating it yields) and each row of a
    2-D array becomes one value: a text "['a', 'b']", or the label column read as words.
    """
    if hasattr(data, "toarray"):  # a scipy sparse matrix: numbers, not texts
        raise ValueError(f"{name} is a sparse matrix; pass one {item} per row (e.g. {example})")
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) == 2:
        if shape[1] != 1:
            raise ValueError(f"{name} must be 1-D, one {item} per row (e.g. {example}); got {shape[1]} columns")
        data = data.iloc[:, 0] if hasattr(data, "iloc") else np.asarray(data, dtype=object)[:, 0]
    elif shape is not None and len(shape) != 1:
        raise ValueError(f"{name} must be 1-D, one {item} per row (e.g. {example}); got {len(shape)} dimensions")
    return data.tolist() if hasattr(data, "tolist") else list(data)


def _first_nested(values: list[Any]) -> int | None:
    """The index of the first value that is a list (tuple, array, set, dict) rather than one value."""
    return next((i for i, v in enumerate(values) if isinstance(v, (list, tuple, set, dict, np.ndarray))), None)


def _label_kind(value: Any) -> str:
    """A label's type as `fit` tells them apart: "string", "boolean" or "number" (ints and floats alike,
    which Arrow stores together as floats)."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def _is_missing(value: Any) -> bool:
    """None, NaN, or pandas' NA (which is unequal to itself, or cannot even say so)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: `NA != NA` is NA, whose truth value is ambiguous
        return True


def _as_dataset(X: Any, y: Any, names: tuple[str, str] = ("X", "y")) -> datasets.Dataset:
    texts = _as_texts(X, names[0])
    labels = _as_labels(y, names[1])
    if len(texts) != len(labels):
        raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
    missing = [i for i, label in enumerate(labels) if _is_missing(label)]
    if missing:
        raise ValueError(
            f"{names[1]} has {len(missing)} missing label(s) (None or NaN; the first at index {missing[0]})"
        )
    try:
        return datasets.Dataset.from_dict({TEXT: texts, LABEL: labels})
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{names[1]} cannot be stored as one column of labels ({first})") from None
