"""The network: token ids -> logits. No loss, no softmax, no tokenizer, no device choice."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from textcnn.config import ModelConfig

#: Half-width of the uniform initialisation of random word vectors (Kim 2014).
EMBEDDING_INIT_RANGE = 0.25


class TextCNN(nn.Module):
    """Kim (2014): embedding -> parallel 1-D convolutions -> max-over-time pooling -> linear.

    With `pooling="max+mean"` each filter also contributes its mean activation over the text.

    Padding never influences a text's output: a convolution window counts only if it starts on a
    real token (texts shorter than a kernel keep their single window, padded with zero vectors), so
    a text gets the same logits alone or in a batch padded for a longer text.

    In `multichannel` mode a frozen copy of the embeddings is added as a second channel; every
    filter is applied to both channels and the results summed (Kim 2014), which for a linear
    convolution equals convolving the sum of the two channels.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_id)
        nn.init.uniform_(self.embedding.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        with torch.no_grad():
            self.embedding.weight[config.pad_id].zero_()
        self.static_embedding: nn.Embedding | None = None
        if config.embedding_mode == "multichannel":
            self.static_embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_id)
            self.static_embedding.weight.data.copy_(self.embedding.weight.data)
            self.static_embedding.weight.requires_grad_(False)
        if config.embedding_mode == "static":
            self.embedding.weight.requires_grad_(False)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.embedding_dim, config.num_filters, kernel_size=k) for k in config.kernel_sizes
        )
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.feature_dim, config.num_classes)

    @property
    def conv_layers(self) -> list[nn.Conv1d]:
        """`convs` as the `nn.Conv1d` layers they are (iterating an `nn.ModuleList` is typed as plain Modules)."""
        return [conv for conv in self.convs if isinstance(conv, nn.Conv1d)]

    @property
    def min_length(self) -> int:
        """Shortest padded input the convolutions accept (the widest kernel)."""
        return max(self.config.kernel_sizes)

    def load_pretrained_embeddings(self, vectors: torch.Tensor) -> None:
        """Copy `vectors` (vocab_size, embedding_dim) into every embedding channel."""
        with torch.no_grad():
            self.embedding.weight.copy_(vectors)
            if self.static_embedding is not None:
                self.static_embedding.weight.copy_(vectors)

    def features(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Pooled convolution features of shape (batch, feature_dim).

        The convolutions run as 2-D convolutions over a (batch, embedding_dim, 1, time) view of the
        embeddings in channels-last layout, which is exactly how the embedding lookup lays them out
        in memory: `nn.Conv1d` on the transposed tensor would copy it to (batch, embedding_dim, time)
        once per kernel width, a copy as large as the embeddings themselves for every width. The
        weights are the `convs` parameters themselves (viewed with a height of 1), so saved models
        and checkpoints are unchanged. The padding mask is built once for all kernel widths.
        Alternatives compared with this layout are listed in docs/measurements.md.
        """
        pooled = []
        for activations, group_mask in self.window_activations(input_ids):
            pooled.extend(pool_windows(activations, group_mask, dim=2, pooling=self.config.pooling))
        return torch.cat(pooled, dim=1)  # (batch, feature_dim)

    def window_activations(self, input_ids: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per kernel width, the convolution outputs before ReLU and pooling, and their window mask.

        Each pair is `activations` (batch, num_filters, windows), -inf at windows that do not
        count, and that additive mask (batch, windows). Window t of kernel `group` covers the
        padded positions t .. t + k - 1, i.e. the text's tokens t - edge .. t - edge + k - 1
        (`edge_padding`). `features` pools exactly these; `textcnn.explanation` attributes them.
        """
        # input_ids: (batch, time), right-padded with pad_id
        if input_ids.size(1) < self.min_length:
            input_ids = F.pad(input_ids, (0, self.min_length - input_ids.size(1)), value=self.config.pad_id)
        embedded = self.embedding(input_ids)  # (batch, time, embedding_dim)
        if self.static_embedding is not None:
            embedded = embedded + self.static_embedding(input_ids)
        # A view, no copy: logical (batch, embedding_dim, 1, time), channels-last in memory.
        channels_last = embedded.unsqueeze(1).permute(0, 3, 1, 2)
        mask = self.window_mask(input_ids)  # (batch, time, len(kernel_sizes)), 0 or -inf
        groups = []
        for group, conv in enumerate(self.conv_layers):
            weight = conv.weight.unsqueeze(2)  # (num_filters, embedding_dim, 1, kernel_size)
            padding = (0, self.edge_padding(group))
            # (batch, num_filters, windows)
            activations = F.conv2d(channels_last, weight, conv.bias, padding=padding).squeeze(2)
            group_mask = mask[:, : activations.size(2), group]  # (batch, windows)
            groups.append((activations + group_mask.unsqueeze(1), group_mask))  # padding -> -inf
        return groups

    def edge_padding(self, group: int) -> int:
        """Zero vectors added before and after the text for kernel `group`: k - 1 when wide, else 0."""
        return self.config.kernel_sizes[group] - 1 if self.config.wide_convolution else 0

    def window_mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Additive mask (batch, windows, len(kernel_sizes)): 0 for windows that count, else -inf.

        Narrow convolutions count the windows that lie inside the text; wide ones every window
        that overlaps it. Window 0 is always kept, so texts shorter than a kernel (or empty) keep
        their single window. `windows` is the longest any kernel produces.
        """
        lengths = (input_ids != self.config.pad_id).sum(dim=1)  # (batch,)
        kernel_sizes = torch.tensor(self.config.kernel_sizes, device=input_ids.device)  # (groups,)
        edges = torch.tensor([self.edge_padding(g) for g in range(len(kernel_sizes))], device=input_ids.device)
        # Windows are numbered from the first one of the padded text.
        last_start = (lengths.unsqueeze(1) - kernel_sizes + 2 * edges).clamp(min=0)  # (batch, groups)
        starts = torch.arange(input_ids.size(1) + int(edges.max()), device=input_ids.device)  # (windows,)
        valid = starts.view(1, -1, 1) <= last_start.unsqueeze(1)  # (batch, time, groups)
        mask = torch.zeros(valid.shape, dtype=self.embedding.weight.dtype, device=input_ids.device)
        return mask.masked_fill_(~valid, float("-inf"))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, num_classes) for right-padded `input_ids` (batch, time)."""
        return self.classifier(self.dropout(self.features(input_ids)))

    @torch.no_grad()
    def apply_max_norm(self, max_norm: float) -> None:
        """Rescale each output-layer weight vector to L2 norm <= max_norm (Kim 2014)."""
        if max_norm > 0:
            weight = self.classifier.weight
            weight.copy_(torch.renorm(weight, p=2, dim=0, maxnorm=max_norm))


def pool_windows(activations: torch.Tensor, mask: torch.Tensor, *, dim: int, pooling: str) -> list[torch.Tensor]:
    """ReLU then pool over windows; each result is (batch, num_filters).

    `activations` already holds `mask`'s -inf (batch, windows) for windows that do not count,
    which ReLU turns into zeros: they never win the max and add nothing to the mean, whose divisor
    is the number of windows that count (computed only when the mean is wanted).
    """
    pooled = [F.relu(activations.amax(dim=dim))]  # ReLU commutes with max: apply it to the pooled values only
    if pooling == "max+mean":
        window_counts = (mask == 0).sum(dim=1, keepdim=True).to(activations.dtype)  # (batch, 1)
        pooled.append(F.relu(activations).sum(dim=dim) / window_counts)
    return pooled
