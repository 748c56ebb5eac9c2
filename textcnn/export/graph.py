"""The network rewritten for export: token ids of any batch size and length -> logits, in plain ops.

`TextCNN.forward` pads short inputs with a Python `if` on the input's length and convolves each
kernel width separately; a traced graph would freeze that `if` to the length of the example it
was traced with. `ExportGraph` computes the same logits with operations whose shapes follow the
input's, so one ONNX graph serves every batch size and length (even texts shorter than the widest
kernel, or longer than `max_length`):

- one embedding table: in `multichannel` mode the trained and the frozen channel are added once,
  ahead of time (each lookup of the network adds the same two rows, so the table is exact);
- one matrix product of the embeddings with every kernel offset of every width stacked
  (`stacked`, a `nn.Linear` without bias), then for each width the sum of its offsets' columns
  shifted along time: the convolutions, without the im2col copy, and a `Linear` that int8 dynamic
  quantisation (onnxruntime's and PyTorch's) knows how to quantise;
- the texts are padded with zero vectors on the right by `widest - 1` positions (and as many on
  the left for wide convolutions), so every width has at least one window at any input length;
  windows that do not count (`TextCNN.window_mask`) get -inf before pooling, exactly as in the
  network, with max or max+mean pooling.

Right padding inside a batch is `pad_id` ids whose embedding row is zero, as the network assumes.
"""

from __future__ import annotations

import torch
from torch import nn

from textcnn.model import TextCNN


class ExportGraph(nn.Module):
    """`TextCNN`'s inference (evaluation mode) as export-friendly operations; see the module docstring."""

    def __init__(self, model: TextCNN) -> None:
        super().__init__()
        config = model.config
        self.pad_id = config.pad_id
        self.kernel_sizes = tuple(config.kernel_sizes)
        self.num_filters = config.num_filters
        self.wide = config.wide_convolution
        self.mean_pooling = config.pooling == "max+mean"
        widest = max(self.kernel_sizes)
        self.left = widest - 1 if self.wide else 0
        self.right = widest - 1
        with torch.no_grad():
            table = model.embedding.weight.detach().float().clone()
            if model.static_embedding is not None:
                table = table + model.static_embedding.weight.detach().float()
            self.embedding = nn.Embedding.from_pretrained(table, freeze=True, padding_idx=None)
            # Columns (group, offset, filter): offset j of width k's kernel is conv.weight[:, :, j].
            blocks = [
                conv.weight.detach().float().permute(2, 0, 1).reshape(-1, conv.in_channels) for conv in model.convs
            ]
            self.stacked = nn.Linear(config.embedding_dim, sum(b.shape[0] for b in blocks), bias=False)
            self.stacked.weight.copy_(torch.cat(blocks, dim=0))
            self.register_buffer("biases", torch.stack([conv.bias.detach().float() for conv in model.convs]))
            self.classifier = nn.Linear(config.feature_dim, config.num_classes)
            self.classifier.weight.copy_(model.classifier.weight.detach().float())
            self.classifier.bias.copy_(model.classifier.bias.detach().float())
        self.eval()

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for right-padded int64 `input_ids` (batch, length >= 1)."""
        lengths = (input_ids != self.pad_id).sum(dim=1, keepdim=True)  # (batch, 1)
        embedded = self.embedding(input_ids)  # (batch, time, dim)
        embedded = nn.functional.pad(embedded, (0, 0, self.left, self.right))  # zero vectors at the edges
        products = self.stacked(embedded)  # (batch, left + time + right, sum(k) * filters)
        widest = max(self.kernel_sizes)
        pooled = []
        column = 0
        for group, width in enumerate(self.kernel_sizes):
            edge = width - 1 if self.wide else 0
            start = self.left - edge  # the padded position of this width's first window
            activations = None
            for offset in range(width):
                # Windows s = 0 .. (time + width - 1 if wide else time) - 1 read position start + s + offset;
                # the slice ends `widest - 1 - offset` before the padded end whatever the input's length.
                stop = widest - 1 - offset
                rows = products[:, start + offset : (-stop if stop else None), column : column + self.num_filters]
                activations = rows if activations is None else activations + rows
                column += self.num_filters
            assert activations is not None
            activations = activations + self.biases[group]  # (batch, windows, filters)
            windows = torch.arange(activations.shape[1], device=input_ids.device).unsqueeze(0)  # (1, windows)
            last_start = (lengths - width + 2 * edge).clamp(min=0)  # (batch, 1): window 0 always counts
            valid = windows <= last_start  # (batch, windows)
            activations = activations.masked_fill(~valid.unsqueeze(2), float("-inf"))
            pooled.append(torch.relu(activations.amax(dim=1)))
            if self.mean_pooling:
                counts = valid.sum(dim=1, keepdim=True).to(activations.dtype)  # (batch, 1)
                pooled.append(torch.relu(activations).sum(dim=1) / counts)
        return self.classifier(torch.cat(pooled, dim=1))
