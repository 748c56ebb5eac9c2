"""Inference through a precomputed token projection table: the same logits, a tenth of the work.

A convolution over word embeddings is linear in the embeddings, so the activation of a window
starting at position t is the sum, over the offsets j of the kernel, of
`embedding[token[t + j]] @ kernel[:, :, j]`. Each of those terms depends on one token and one
offset only, so it can be computed once per vocabulary entry: a table of shape
(sum(kernel_sizes) * vocab_size, num_filters). Inference then looks rows up and sums them
(`F.embedding_bag`, one fused kernel per kernel width) instead of multiplying every token's
embedding by every kernel again: one row lookup per token and offset instead of a
multiply-accumulate over `embedding_dim` (`scripts/bench_predict.py` compares the two); results
equal the network's up to float rounding (~1e-6).

Building the table costs about as much as running the convolutions over one to two times
`vocab_size` tokens, so it is built for inputs of at least `BREAK_EVEN_TOKENS_PER_WORD`
tokens per vocabulary entry (`worth_projecting`), and it is kept only while
it stays under `MAX_TABLE_BYTES`. It is built from the weights at one moment: rebuild it after the
weights change. Training never uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from textcnn.model import TextCNN, pool_windows

#: Largest table kept (bytes); bigger vocabularies or filter banks fall back to the convolutions.
MAX_TABLE_BYTES = 512 * 1024**2
#: Input tokens per vocabulary entry from which building the table saves time.
BREAK_EVEN_TOKENS_PER_WORD = 2


class TokenProjection:
    """The inference half of a `TextCNN` with its convolutions replaced by table lookups."""

    def __init__(self, model: TextCNN) -> None:
        self.model = model
        with torch.no_grad():
            embeddings = model.embedding.weight.float().clone()
            if model.static_embedding is not None:
                embeddings = embeddings + model.static_embedding.weight.float()
            # One table per kernel width: rows (offset * vocab_size + token) hold that token's
            # contribution to a window's activation when it sits at `offset` inside the window.
            embeddings[model.config.pad_id] = 0  # padding is zero vectors, as in the convolutions
            self.tables = [
                torch.einsum("vd,fdk->kvf", embeddings, conv.weight.float()).reshape(-1, conv.out_channels)
                for conv in model.conv_layers
            ]

    @staticmethod
    def table_bytes(model: TextCNN) -> int:
        config = model.config
        return 4 * config.vocab_size * sum(config.kernel_sizes) * config.num_filters

    @torch.inference_mode()
    def features(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Pooled convolution features (batch, feature_dim), as `TextCNN.features` computes them."""
        model = self.model
        if input_ids.size(1) < model.min_length:
            input_ids = F.pad(input_ids, (0, model.min_length - input_ids.size(1)), value=model.config.pad_id)
        batch, time = input_ids.shape
        mask = model.window_mask(input_ids).float()  # (batch, time, groups), 0 or -inf
        vocab_size = model.config.vocab_size
        pooled = []
        for group, (conv, table) in enumerate(zip(model.conv_layers, self.tables, strict=True)):
            width, edge = conv.kernel_size[0], model.edge_padding(group)
            ids = F.pad(input_ids, (edge, edge), value=model.config.pad_id) if edge else input_ids
            windows = time + 2 * edge - width + 1
            offsets = torch.arange(width, device=input_ids.device) * vocab_size
            rows = ids.unfold(1, width, 1) + offsets  # (batch, windows, width) table rows
            activations = F.embedding_bag(rows.reshape(-1, width), table, mode="sum").view(batch, windows, -1)
            group_mask = mask[:, :windows, group]  # (batch, windows)
            assert conv.bias is not None  # TextCNN's convolutions have biases
            activations = activations + conv.bias.float() + group_mask.unsqueeze(2)
            pooled.extend(pool_windows(activations, group_mask, dim=1, pooling=model.config.pooling))
        return torch.cat(pooled, dim=1)

    @torch.inference_mode()
    def logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) of the model in evaluation mode."""
        classifier = self.model.classifier
        return F.linear(self.features(input_ids), classifier.weight.float(), classifier.bias.float())


def worth_projecting(model: TextCNN, num_tokens: int) -> bool:
    """Whether building a table for `num_tokens` tokens of input saves time and fits the size cap."""
    enough_tokens = num_tokens >= BREAK_EVEN_TOKENS_PER_WORD * model.config.vocab_size
    return enough_tokens and TokenProjection.table_bytes(model) <= MAX_TABLE_BYTES


def projection_for(model: TextCNN, sequences: Sequence[Sequence[int]]) -> TokenProjection | None:
    """A table for predicting `sequences` when `worth_projecting`, else None (use the network)."""
    return TokenProjection(model) if worth_projecting(model, sum(len(s) for s in sequences)) else None
