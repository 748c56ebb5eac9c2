"""The network rewritten for export: token ids of any batch size and length -> logits, in plain ops.

`TextCNN.forward` pads short inputs with a Python `if` on the input's length and runs its
convolutions as 2-D ones over a channels-last view; a traced graph would freeze that `if` to the
length of the example it was traced with. `ExportGraph` computes the same logits with operations
whose shapes follow the input's, so one ONNX graph serves every batch size and length (even texts
shorter than the widest kernel, or longer than `max_length`):

- one embedding table: in `multichannel` mode the trained and the frozen channel are added once,
  ahead of time (each lookup of the network adds the same two rows, so the table is exact);
- one transpose to (batch, embedding_dim, time), then a plain 1-D convolution per kernel width:
  wide ones pad `width - 1` zero vectors on each side (the Conv's own padding), narrow ones `width - 1`
  on the right only, so every width has at least one window at any input length;
- windows that do not count (`TextCNN.window_mask`) get -inf before pooling, exactly as in the
  network, with max or max+mean pooling.

Right padding inside a batch is `pad_id` ids whose embedding row is zero, as the network assumes.
The convolutions as one matrix product of the embeddings with every kernel offset stacked, then
shifted sums (which int8 MatMul quantisation would cover), ran slower in onnxruntime than its Conv.
"""

from __future__ import annotations

import copy
from typing import cast

import torch
from torch import nn

from textcnn.model import TextCNN


class ExportGraph(nn.Module):
    """`TextCNN`'s inference (evaluation mode) as export-friendly operations; see the module docstring."""

    def __init__(self, model: TextCNN) -> None:
        """Copy `model`'s weights (as float32, on the CPU); later changes to `model` do not reach the graph."""
        super().__init__()
        model = copy.deepcopy(model).cpu().float()
        config = model.config
        self.pad_id = config.pad_id
        self.kernel_sizes = tuple(config.kernel_sizes)
        self.wide = config.wide_convolution
        self.mean_pooling = config.pooling == "max+mean"
        with torch.no_grad():
            table = model.embedding.weight.detach().float().clone()
            if model.static_embedding is not None:
                table = table + model.static_embedding.weight.detach().float()
            self.embedding = nn.Embedding.from_pretrained(table, freeze=True, padding_idx=None)
            self.convs = nn.ModuleList()
            for conv in (cast(nn.Conv1d, c) for c in model.convs):
                clone = nn.Conv1d(conv.in_channels, conv.out_channels, conv.kernel_size[0])
                clone.weight.copy_(conv.weight.detach().float())
                cast(torch.Tensor, clone.bias).copy_(cast(torch.Tensor, conv.bias).detach().float())
                self.convs.append(clone)
            self.classifier = nn.Linear(config.feature_dim, config.num_classes)
            self.classifier.weight.copy_(model.classifier.weight.detach().float())
            self.classifier.bias.copy_(model.classifier.bias.detach().float())
        self.eval()

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for right-padded int64 `input_ids` (batch, length >= 1)."""
        lengths = (input_ids != self.pad_id).sum(dim=1, keepdim=True)  # (batch, 1)
        embedded = self.embedding(input_ids).transpose(1, 2)  # (batch, dim, time)
        pooled = []
        for conv, width in zip(cast(list[nn.Conv1d], list(self.convs)), self.kernel_sizes, strict=True):
            if self.wide:
                edge = width - 1  # windows overlapping the text; window s starts at position s - edge
                activations = nn.functional.conv1d(embedded, conv.weight, conv.bias, padding=edge)
            else:
                edge = 0  # windows inside the text; the zero padding gives a short text its one window
                padded = nn.functional.pad(embedded, (0, width - 1))
                activations = nn.functional.conv1d(padded, conv.weight, conv.bias)
            # activations: (batch, filters, windows)
            windows = torch.arange(activations.shape[2], device=input_ids.device).unsqueeze(0)  # (1, windows)
            last_start = (lengths - width + 2 * edge).clamp(min=0)  # (batch, 1): window 0 always counts
            valid = windows <= last_start  # (batch, windows)
            activations = activations.masked_fill(~valid.unsqueeze(1), float("-inf"))
            pooled.append(torch.relu(activations.amax(dim=2)))
            if self.mean_pooling:
                counts = valid.sum(dim=1, keepdim=True).to(activations.dtype)  # (batch, 1)
                pooled.append(torch.relu(activations).sum(dim=2) / counts)
        return self.classifier(torch.cat(pooled, dim=1))
