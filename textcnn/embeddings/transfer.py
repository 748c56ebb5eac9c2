"""Where a new model's weights start: random, pretrained word vectors, or another model.

Kim (2014)'s four variants differ only in how the embeddings start and whether they train:

- `rand`: random U[-0.25, 0.25] embeddings, trained (the default without vectors);
- `static`: pretrained vectors, frozen;
- `non-static`: pretrained vectors, fine-tuned (the default with vectors);
- `multichannel`: two channels both starting from the vectors, one frozen, one fine-tuned.

`init_from` (fine-tuning on a new task) reuses another model's tokenizer, embeddings and
convolutions and trains a new output layer, optionally with everything but that layer frozen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from textcnn.config import EMBEDDING_MODES
from textcnn.embeddings.vectors import PretrainedVectors, load_vectors, log_coverage
from textcnn.errors import TextCNNError
from textcnn.model import TextCNN
from textcnn.persistence import SavedModel, load_model_dir
from textcnn.tokenization import PAD_TOKEN, UNK_TOKEN

logger = logging.getLogger(__name__)

#: Embedding size when neither vectors nor a source model decide it (Kim 2014 used 300-d word2vec).
DEFAULT_EMBEDDING_DIM = 300
PRETRAINED_MODES = ("static", "non-static", "multichannel")


def check_transfer_options(
    *,
    vectors: str | Path | None,
    init_from: str | Path | None,
    tokenizer: str | Path | None,
    embedding_mode: str | None,
    freeze_features: bool,
) -> None:
    """Reject option combinations that cannot mean anything, before any data is touched."""
    if embedding_mode is not None and embedding_mode not in EMBEDDING_MODES:
        raise TextCNNError(f"embedding_mode must be one of {', '.join(EMBEDDING_MODES)}, not {embedding_mode!r}")
    if vectors is not None and not Path(vectors).is_file():
        raise TextCNNError(f"vectors file not found: {vectors}")
    if init_from is not None:
        if vectors is not None:
            raise TextCNNError("pass `vectors` or `init_from`, not both: `init_from` reuses the model's embeddings")
        if tokenizer is not None:
            raise TextCNNError("pass `tokenizer` or `init_from`, not both: `init_from` reuses the model's tokenizer")
        return
    if freeze_features:
        raise TextCNNError("`freeze_features` requires `init_from` (a model directory whose features to freeze)")
    if vectors is None and embedding_mode in PRETRAINED_MODES:
        raise TextCNNError(
            f"`embedding_mode={embedding_mode!r}` needs pretrained vectors: pass `vectors` (a vectors file)"
        )
    if vectors is not None and embedding_mode == "rand":
        raise TextCNNError('`embedding_mode="rand"` ignores `vectors`; drop one of the two')


def load_source_model(path: str | Path) -> SavedModel:
    """Read the model whose tokenizer, embeddings and convolutions a new model reuses."""
    return load_model_dir(path, device="cpu")


def load_vectors_for(
    path: str | Path, tokenizer: Tokenizer, *, embedding_dim: int | None, seed: int
) -> PretrainedVectors:
    """Rows of the vectors file at `path` for `tokenizer`'s vocabulary, aligned to its ids."""
    specials = {token.content for token in tokenizer.get_added_tokens_decoder().values() if token.special}
    return load_vectors(
        path,
        tokenizer.get_vocab(with_added_tokens=True),
        vocab_size=tokenizer.get_vocab_size(),
        pad_id=tokenizer.token_to_id(PAD_TOKEN),
        special_tokens=specials | {PAD_TOKEN, UNK_TOKEN},
        seed=seed,
        expected_dim=embedding_dim,
    )


def report_coverage(vectors: PretrainedVectors, train_ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, Any]:
    """Log and return vocabulary / training-token coverage of the pretrained vectors."""
    share = vectors.token_coverage(train_ids, pad_id=pad_id)
    log_coverage(vectors, share)
    return {
        "found": vectors.found_count,
        "vocab": vectors.vocab_count,
        "token_share": share,
        "init_range": vectors.init_range,
        "format": vectors.format.description,
    }


def embedding_settings(
    *,
    embedding_dim: int | None,
    embedding_mode: str | None,
    vectors: PretrainedVectors | None,
    source: SavedModel | None,
) -> dict[str, Any]:
    """`ModelConfig` fields decided by the vectors or the source model rather than by the user.

    With a source model, everything that shapes the reused weights (embedding size, kernel sizes,
    filters per size) comes from it; dropout and max_length stay the caller's.
    """
    if source is not None:
        config = source.model.config
        if embedding_dim is not None and embedding_dim != config.embedding_dim:
            raise TextCNNError(
                f"the `init_from` model has {config.embedding_dim}-d embeddings but `embedding_dim` is "
                f"{embedding_dim}; leave `embedding_dim` out"
            )
        mode = embedding_mode or config.embedding_mode
        if (mode == "multichannel") != (config.embedding_mode == "multichannel"):
            raise TextCNNError(
                f"the `init_from` model uses embedding mode {config.embedding_mode}; a reused model keeps its "
                f"number of embedding channels, so `embedding_mode={mode!r}` is not possible"
            )
        logger.info(
            "initialising from a model with %d vocabulary entries, %d-d %s embeddings, kernel sizes %s x %d filters",
            config.vocab_size,
            config.embedding_dim,
            config.embedding_mode,
            ",".join(map(str, config.kernel_sizes)),
            config.num_filters,
        )
        return {
            "embedding_dim": config.embedding_dim,
            "embedding_mode": mode,
            "kernel_sizes": config.kernel_sizes,
            "num_filters": config.num_filters,
        }
    if vectors is not None:
        return {"embedding_dim": vectors.dim, "embedding_mode": embedding_mode or "non-static"}
    return {
        "embedding_dim": DEFAULT_EMBEDDING_DIM if embedding_dim is None else embedding_dim,
        "embedding_mode": embedding_mode or "rand",
    }


def initialise_model(
    model: TextCNN,
    *,
    vectors: PretrainedVectors | None = None,
    source: SavedModel | None = None,
    freeze_features: bool = False,
) -> None:
    """Copy pretrained vectors or a source model's features into a freshly built `model`."""
    if vectors is not None:
        model.load_pretrained_embeddings(torch.from_numpy(vectors.matrix))
    if source is not None:
        _copy_features(model, source.model)
        if freeze_features:
            for parameter in feature_parameters(model):
                parameter.requires_grad_(False)
        logger.info(
            "reusing tokenizer, embeddings and convolutions%s; training a new output layer for %d classes",
            " (frozen)" if freeze_features else "",
            model.config.num_classes,
        )


def feature_parameters(model: TextCNN) -> list[torch.nn.Parameter]:
    """Embeddings (every channel) and convolutions: everything below the output layer."""
    modules: list[torch.nn.Module] = [model.embedding, model.convs]
    if model.static_embedding is not None:
        modules.append(model.static_embedding)
    return [parameter for module in modules for parameter in module.parameters()]


def _copy_features(model: TextCNN, source: TextCNN) -> None:
    state = {name: tensor for name, tensor in source.state_dict().items() if not name.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not name.startswith("classifier.") for name in missing):
        raise TextCNNError(f"the `init_from` model does not fit the new model (missing {missing}, extra {unexpected})")
