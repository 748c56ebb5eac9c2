"""`TextCNNClassifier`: the scikit-learn estimator, and the one training path the CLI uses too."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import check_is_fitted
from tokenizers import Tokenizer

from textcnn.calibration import fit_temperature
from textcnn.config import ModelConfig, TrainConfig
from textcnn.data.columns import LABEL, TEXT, check_one_label_per_row, stratified_split
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
from textcnn.estimator_inputs import as_dataset, as_labels, as_texts
from textcnn.evaluation import class_indices
from textcnn.inference import predict_logits, softmax
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
from textcnn.training.class_weights import class_weight_vector
from textcnn.training.context import EpochCallback, RunContext, TrainingData, TrainingResult
from textcnn.training.loop import fit_validated
from textcnn.training.refit import refit_model
from textcnn.training.step import seed_everything

if TYPE_CHECKING:
    from textcnn.export.onnx import ExportResult

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
    temperature: float | None = None  # fitted on the validation logits (`calibrate`); None when not fitted


class TextCNNClassifier(ClassifierMixin, BaseEstimator):
    """Kim (2014) convolutional text classifier with a scikit-learn interface.

    Texts go in as a list, numpy array, pandas Series or one-column DataFrame of strings (see
    `textcnn.estimator_inputs`); labels may be strings, numbers or booleans and come back unchanged
    from `predict`. `predict_proba` columns follow `classes_`. The parameters mirror the options of
    `textcnn train`; `ModelConfig` and `TrainConfig` give the reasons behind each default.

    Without validation data, `fit` carves a stratified `valid_fraction` of the training rows to
    pick the epochs (early stopping and `average_best`); `refit` may then train once more, from
    the same seed, on all rows for those epochs.

    Parameters
    ----------
    embedding_dim : int or None, default=None
        Size of the word embeddings. None means the pretrained vectors' size, or 300 without them.
    kernel_sizes : sequence of int, default=(3, 4, 5)
        Widths, in tokens, of the convolution windows; one bank of filters per width.
    num_filters : int or "auto", default="auto"
        Filters per width. "auto" means 100 (Kim's) for sentence-length data and 300 when the
        median training text has `textcnn.sizing.DOCUMENT_MEDIAN_TOKENS` tokens or more.
    dropout : float, default=0.5
        Dropout rate on the pooled features, in [0, 1).
    max_length : int or "auto", default="auto"
        Tokens kept per text. "auto" means 256 for sentences and 512 for documents (as `num_filters`).
    truncation : {"head+tail", "head", "tail"}, default="head+tail"
        Which tokens a longer text keeps: its first 1/4 and last 3/4, its start, or its end.
    pooling : {"max", "max+mean"}, default="max"
        Max-over-time pooling (Kim), or max and mean side by side.
    wide_convolution : bool, default=True
        Whether windows also overlap the text's edges (Kim pads k-1 positions on each side).
    min_freq : int, default=1
        Tokens seen fewer times in the training texts become [UNK].
    max_vocab : int or None, default=50000
        Largest vocabulary, special tokens included; None keeps every token.
    tokenizer : str or None, default=None
        Path of an existing `tokenizer.json` to use instead of training a word-level one.
    vectors : str or None, default=None
        Pretrained word vectors (word2vec binary or text, GloVe, fastText .vec) to start from.
    embedding_mode : {"rand", "static", "non-static", "multichannel"} or None, default=None
        Kim's variants (`textcnn.embeddings.transfer`). None means "rand" without `vectors` and
        "non-static" with them.
    init_from : str or None, default=None
        A model folder whose tokenizer, embeddings and convolutions the new model starts from;
        only the output layer is new.
    freeze_features : bool, default=False
        With `init_from`, train the output layer only.
    epochs : int, default=20
        Most epochs to train; early stopping usually ends sooner.
    batch_size : int, default=50
        Texts per training step.
    lr : float, default=5e-4
        Learning rate.
    optimizer : {"adamw", "adadelta"}, default="adamw"
        "adadelta" (with lr=1.0) reproduces Kim's setup.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW) or L2 penalty (Adadelta).
    max_norm : float, default=3.0
        Cap on the L2 norm of each output-layer weight vector (Kim); 0 disables it.
    grad_clip : float, default=5.0
        Cap on the global gradient norm; 0 disables it.
    patience : int, default=3
        Epochs without a better validation score before training stops.
    average_best : int, default=5
        The model ends with the mean weights of this many best validation epochs; 1 keeps the best.
    valid_fraction : float, default=0.1
        Share of the training rows carved off for validation when `fit` gets no validation data.
    refit : bool or "auto", default="auto"
        After a carved validation split picked the epochs, train again on all rows for those
        epochs. "auto" refits sentence-length data but not documents. It roughly doubles the
        training time; with validation data given there is nothing to refit on.
    word_dropout : float, default=0.2
        Chance that a training token is replaced by [UNK], in [0, 1).
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the training loss, as in scikit-learn: None weighs all 1,
        "balanced" weighs each class by n_samples / (n_classes * its count), a dict maps labels to
        weights (others weigh 1). For imbalanced data, with `select_metric="macro_f1"`.
    select_metric : {"accuracy", "macro_f1"}, default="accuracy"
        The validation score that early stopping and the choice of epochs to average rank by.
    calibrate : bool, default=True
        Fit a temperature on the validation data after training (temperature scaling), by which
        `predict_proba` divides the logits; the predicted labels stay the same. With a refit, the
        temperature of the validated run is kept for the refitted model.
    seed : int, default=0
        Seed of the validation split, the initial weights, the batch order and every dropout.
    device : {"auto", "cpu", "cuda", "mps"}, default="auto"
        Where to train and predict; "auto" picks CUDA, then MPS, then the CPU.
    predict_batch_size : int, default=256
        Texts per forward pass in `predict` and `predict_proba`.
    verbose : bool, default=False
        Show progress bars (tokenizing, training) even when stderr is not a terminal.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in training, sorted; `predict_proba` columns follow them.
    model_ : textcnn.model.TextCNN
        The trained network; `model_.config` is its `ModelConfig`, with "auto" sizes resolved.
    tokenizer_ : tokenizers.Tokenizer
        The tokenizer that maps texts to the model's token ids.
    train_config_ : textcnn.config.TrainConfig
        The training settings used.
    history_ : list of dict
        One record per validated epoch: epoch, train_loss, valid_loss, valid_accuracy, valid_macro_f1,
        seconds.
    best_epoch_ : int
        The validated epoch with the best (accuracy, -loss); 0 if training stopped before any.
    averaged_epochs_ : list of int
        The epochs whose weights the validated model averages (empty when it keeps the best one).
    temperature_ : float
        The temperature `predict_proba` applies (1 when not calibrated); saved with the model.
    valid_accuracy_ : float
        Validation accuracy of the weights the validated run ended with.
    refit_ : bool
        Whether the final model was refitted on all training rows.
    refit_history_ : list of dict
        One record per refit epoch (epoch, train_loss, seconds, refit=True); empty without refit.
    refit_stopped_ : bool
        Whether `should_stop` ended the refit, leaving the validated model in place.
    interrupted_ : bool
        Whether `should_stop` ended training early (see `fit_dataset`).
    median_tokens_ : float or None
        Median token count of (a sample of) the training texts, when an "auto" setting needed it.
    vectors_coverage_ : dict or None
        How much of the vocabulary the pretrained `vectors` covered; None without vectors.
    process_group_ : textcnn.devices.ProcessGroup
        This process's rank and the number of processes (more than one under torchrun).

    Examples
    --------
    >>> from textcnn import TextCNNClassifier
    >>> texts = ["a great film", "a dull film", "great acting", "dull plot"] * 10
    >>> labels = ["pos", "neg", "pos", "neg"] * 10
    >>> clf = TextCNNClassifier(epochs=2, embedding_dim=16, num_filters=8, device="cpu")
    >>> clf.fit(texts, labels).predict(["great plot"]).shape
    (1,)
    >>> clf.predict_proba(["great plot"]).shape
    (1, 2)
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
        class_weight: str | dict[Any, float] | None = None,
        select_metric: str = "accuracy",
        calibrate: bool = True,
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
        self.class_weight = class_weight
        self.select_metric = select_metric
        self.calibrate = calibrate
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
        train = as_dataset(X, y)
        valid = None
        if X_valid is not None and y_valid is not None:
            valid = as_dataset(X_valid, y_valid, names=("X_valid", "y_valid"))
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
        checkpoint = load_checkpoint(checkpoint_dir) if resume and checkpoint_dir is not None else None
        device = resolve_device(train_config.device)
        self.process_group_: ProcessGroup = setup_distributed(device)

        all_rows = train
        train_labels = np.asarray(train[LABEL])
        classes = np.unique(train_labels)
        if len(classes) < 2:
            raise TextCNNError(
                f"training data has a single class ({to_json_value(classes[0])!r}); a classifier needs at least two"
            )
        class_weight_vector(train_config.class_weight, classes, np.searchsorted(classes, train_labels))  # checked now
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
        if validated.temperature is not None:
            # The refit trains the same epochs on a little more data: its logits are scaled alike.
            self.model_.config.temperature = validated.temperature
        self.temperature_ = self.model_.config.temperature
        self.tokenizer_ = final.tokenizer
        self.vectors_coverage_ = final.vectors_coverage
        self.classes_ = classes
        self.train_config_: TrainConfig | None = train_config
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
        assert pad_id is not None, "trained and loaded tokenizers are checked to hold [PAD]"
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
        context = RunContext(
            device=phase.device,
            unk_id=unk_id if unk_id is not None else pad_id,
            process_group=self.process_group_,
            callbacks=phase.callbacks,
            show_progress=show_progress,
            should_stop=phase.should_stop,
            on_checkpoint=writer,
        )
        data = TrainingData.of(
            train_ids, train_targets, class_weight_vector(train_config.class_weight, phase.classes, train_targets)
        )
        resume_state = checkpoint.state if checkpoint is not None else None
        if average_epochs is not None:
            result = refit_model(model, data, train_config, context, epochs=average_epochs, resume=resume_state)
        else:
            valid_data = (valid_ids, np.asarray(valid_targets, dtype=np.int64))
            result = fit_validated(model, data, valid_data, train_config, context, resume=resume_state)
        model.eval()
        temperature = None
        if average_epochs is None and train_config.calibrate and result.best_epoch:
            logits = predict_logits(model, valid_ids, batch_size=max(256, train_config.batch_size), device=phase.device)
            temperature = fit_temperature(logits, valid_targets)
            logger.log(
                self.process_group_.log_level,
                "calibration: temperature %.3f fitted on %d validation rows",
                temperature,
                len(valid_ids),
            )
        return _Trained(
            model=model, tokenizer=tokenizer, result=result, vectors_coverage=coverage, temperature=temperature
        )

    # -------------------------------------------------------------- prediction
    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Probabilities of shape (n_samples, n_classes), columns ordered like `classes_`.

        softmax(logits / `temperature_`): calibrated when the model was (`calibrate`).
        """
        return softmax(self.predict_logits(X), self.model_.config.temperature)

    def predict_logits(self, X: Iterable[str]) -> np.ndarray:
        """The network's scores (n_samples, n_classes) before the temperature and the softmax."""
        check_is_fitted(self, "model_")
        batch_size = self._checked_predict_batch_size()
        config = self.model_.config
        ids = encode_batch(self.tokenizer_, as_texts(X), config.max_length, config.truncation)
        projection = projection_for(self.model_, ids)
        return predict_logits(self.model_, ids, batch_size=batch_size, projection=projection)

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """Labels from `classes_`, one per text (the temperature never changes which is highest)."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_logits(X).argmax(axis=1)]

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
            self.model_, self.tokenizer_, self.classes_, as_texts(X), top=top, label=label, batch_size=batch_size
        )

    def score(self, X: Iterable[str], y: Iterable[Any], sample_weight: Any = None) -> float:
        """Accuracy of `predict(X)` against `y`, for any labels `fit` takes.

        `ClassifierMixin.score` compares the labels themselves, and scikit-learn refuses floats
        that are not whole numbers ("continuous is not supported"), which `fit` takes as classes
        like any other label; here both sides are positions in `classes_` (a label never trained
        on is never right).
        """
        expected = class_indices(as_labels(y), self.classes_)
        predicted = self.predict_logits(X).argmax(axis=1)  # already positions in classes_
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

    def export_onnx(
        self, path: str | Path, *, quantize: str | None = None, check_texts: Iterable[str] | None = None
    ) -> ExportResult:
        """Write an ONNX export folder at `path` (model.onnx, tokenizer.json, labels.json, config.json,
        export.json), checked against this estimator with onnxruntime on `check_texts` (or generated
        inputs); `quantize="int8"` stores int8 weights. Returns the folder's path and the check's figures.
        Needs the extra `textcnn[onnx]`; see `textcnn.export.onnx` for the graph's inputs.
        """
        check_is_fitted(self, "model_")
        from textcnn.export.onnx import export_onnx

        texts = None if check_texts is None else as_texts(check_texts, "check_texts")
        return export_onnx(self, path, quantize=quantize, check_texts=texts)

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
        estimator.temperature_ = config.temperature
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

        "auto" refits sentence-length data, where training on the carved rows too helps, and not
        documents, where it did not pay for the extra training (`TrainConfig.refit`).
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
                class_weight=self.class_weight,
                select_metric=self.select_metric,
                calibrate=self.calibrate,
                seed=self.seed,
                device=self.device,
            )
        except ValueError as error:
            raise TextCNNError(str(error)) from None
