"""Micro-benchmark of `TextCNN.features`: the library's implementation against the previous one.

Times, in one process and interleaved round by round (so a noisy shared machine hurts all
variants alike), the best of `--repeats` runs of:

- `reference`: the implementation before issue 4 (one `nn.Conv1d` per kernel width on the
  transposed embeddings, mask and max pool per width), kept here as `reference_features`;
- `library`: `TextCNN.features` as it is now;
- `fused`: one `F.conv1d` with all filters stacked into a weight as wide as the widest kernel
  (narrower kernels zero-padded on the right): one large GEMM, 25% more FLOPs;
- `unfold`: explicit windows (batch * time, k * embedding_dim) and one matmul.

`fused` and `unfold` are the rejected candidates, kept so their numbers can be reproduced.
Shapes: inference 256 x 24 tokens (MR-like, forward only), training 50 x 24 (forward + backward
of the features), long documents 32 x 256 (forward only). Lengths within a batch vary over the
last quarter of the width, as in the length-sorted batches of `textcnn.batching`.

Reports rows/s, useful GFLOP/s (textcnn/flops.py's count, padding excluded) and its fraction of the
fp32 matmul peak measured in the same run with the same thread count.

    OMP_NUM_THREADS=2 python -m scripts.bench_model --threads 1 2
    python -m scripts.bench_model --threads 1 --repeats 20 --variants reference library
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch.nn import functional as F

from scripts.bench.measure import measure_matmul_peak
from textcnn.config import ModelConfig
from textcnn.flops import TRAINING_FLOPS_FACTOR, forward_flops, output_flops_per_text
from textcnn.model import TextCNN

Variant = Callable[[TextCNN, torch.Tensor], torch.Tensor]

#: (name, batch, time, training?)
SHAPES = [("inference", 256, 24, False), ("training", 50, 24, True), ("long docs", 32, 256, False)]


def reference_features(model: TextCNN, input_ids: torch.Tensor) -> torch.Tensor:
    """`TextCNN.features` before issue 4, verbatim: the baseline the library must match and beat."""
    if input_ids.size(1) < model.min_length:
        input_ids = F.pad(input_ids, (0, model.min_length - input_ids.size(1)), value=model.config.pad_id)
    lengths = (input_ids != model.config.pad_id).sum(dim=1)  # (batch,)
    embedded = model.embedding(input_ids)  # (batch, time, embedding_dim)
    if model.static_embedding is not None:
        embedded = embedded + model.static_embedding(input_ids)
    embedded = embedded.transpose(1, 2)  # (batch, embedding_dim, time)
    pooled = []
    for kernel_size, conv in zip(model.config.kernel_sizes, model.convs, strict=True):
        activations = conv(embedded)  # (batch, num_filters, time - kernel_size + 1)
        starts = torch.arange(activations.size(2), device=input_ids.device)  # (windows,)
        last_start = (lengths - kernel_size).clamp(min=0)  # (batch,)
        valid = starts.unsqueeze(0) <= last_start.unsqueeze(1)  # (batch, windows)
        activations = activations.masked_fill(~valid.unsqueeze(1), float("-inf"))
        pooled.append(F.relu(activations.amax(dim=2)))  # (batch, num_filters)
    return torch.cat(pooled, dim=1)  # (batch, feature_dim)


def library_features(model: TextCNN, input_ids: torch.Tensor) -> torch.Tensor:
    return model.features(input_ids)


def _stacked_weight(model: TextCNN) -> tuple[torch.Tensor, torch.Tensor]:
    """All filters in one (feature_dim, embedding_dim, max_k) weight, narrow kernels zero-padded right."""
    width = max(model.config.kernel_sizes)
    weight = torch.cat([F.pad(conv.weight, (0, width - conv.weight.size(2))) for conv in model.convs])
    return weight, torch.cat([conv.bias for conv in model.convs])


def _embedded_and_mask(model: TextCNN, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings right-padded so every start has a full widest window, and the additive mask."""
    if input_ids.size(1) < model.min_length:
        input_ids = F.pad(input_ids, (0, model.min_length - input_ids.size(1)), value=model.config.pad_id)
    mask = model.window_mask(input_ids)  # (batch, time, groups)
    input_ids = F.pad(input_ids, (0, model.min_length - 1), value=model.config.pad_id)
    embedded = model.embedding(input_ids)  # (batch, time + max_k - 1, embedding_dim)
    if model.static_embedding is not None:
        embedded = embedded + model.static_embedding(input_ids)
    return embedded, mask


def fused_features(model: TextCNN, input_ids: torch.Tensor) -> torch.Tensor:
    embedded, mask = _embedded_and_mask(model, input_ids)
    weight, bias = _stacked_weight(model)
    activations = F.conv1d(embedded.transpose(1, 2), weight, bias)  # (batch, feature_dim, time)
    batch, _, time_ = activations.shape
    activations = activations.view(batch, len(model.convs), -1, time_)  # (batch, groups, filters, time)
    activations = activations + mask.permute(0, 2, 1).unsqueeze(2)
    return F.relu(activations.amax(dim=3)).flatten(1)  # (batch, feature_dim)


def unfold_features(model: TextCNN, input_ids: torch.Tensor) -> torch.Tensor:
    embedded, mask = _embedded_and_mask(model, input_ids)
    weight, bias = _stacked_weight(model)
    width = weight.size(2)
    windows = embedded.unfold(1, width, 1)  # (batch, time, embedding_dim, max_k)
    batch, time_ = windows.shape[:2]
    activations = windows.reshape(batch * time_, -1) @ weight.flatten(1).t() + bias  # (batch * time, feature_dim)
    activations = activations.view(batch, time_, len(model.convs), -1) + mask.unsqueeze(3)
    return F.relu(activations.amax(dim=1)).flatten(1)  # (batch, feature_dim)


VARIANTS: dict[str, Variant] = {
    "reference": reference_features,
    "library": library_features,
    "fused": fused_features,
    "unfold": unfold_features,
}


def make_batch(batch: int, width: int, vocab_size: int, generator: torch.Generator) -> torch.Tensor:
    """(batch, width) ids, lengths uniform over the last quarter of the width, one at full width."""
    lengths = torch.randint(max(1, width - width // 4), width + 1, (batch,), generator=generator)
    lengths[0] = width
    ids = torch.randint(1, vocab_size, (batch, width), generator=generator)
    return ids.masked_fill(torch.arange(width).unsqueeze(0) >= lengths.unsqueeze(1), 0)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_once(variant: Variant, model: TextCNN, ids: torch.Tensor, training: bool) -> float:
    if not training:
        with torch.inference_mode():
            return _timed(lambda: variant(model, ids))
    model.zero_grad(set_to_none=True)
    return _timed(lambda: variant(model, ids).sum().backward())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=10, help="rounds; the best time of each variant is kept")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--mode", default="non-static", help="embedding mode of the model")
    args = parser.parse_args()

    torch.manual_seed(0)
    # The reference and the rejected variants are narrow convolutions: compare the library like for like.
    config = ModelConfig(vocab_size=20_000, num_classes=2, embedding_mode=args.mode, wide_convolution=False)
    model = TextCNN(config)
    generator = torch.Generator().manual_seed(0)
    batches = {name: make_batch(b, t, config.vocab_size, generator) for name, b, t, _ in SHAPES}

    with torch.no_grad():
        for name, ids in batches.items():
            expected = reference_features(model, ids)
            for variant in args.variants:
                error = (VARIANTS[variant](model, ids) - expected).abs().max().item()
                assert error < 1e-5, f"{variant} differs from reference by {error:g} on {name}"

    print(f"torch {torch.__version__}, variants agree with reference to < 1e-5")
    for threads in args.threads:
        torch.set_num_threads(threads)
        peak, _ = measure_matmul_peak(threads)  # fp32, 2048^2, on the CPU
        print(f"\nthreads={threads}  fp32 matmul peak (2048^2): {peak:.1f} GFLOP/s")
        print(f"{'shape':<22} {'variant':<10} {'rows/s':>9} {'ms':>8} {'GFLOP/s':>8} {'% peak':>7} {'speed-up':>8}")
        for name, batch, width, training in SHAPES:
            ids = batches[name]
            lengths = (ids != config.pad_id).sum(dim=1).tolist()
            # Features only: the output layer is not run, so leave its FLOPs out of the count.
            flops = forward_flops(config, lengths) - len(lengths) * output_flops_per_text(config)
            flops *= TRAINING_FLOPS_FACTOR if training else 1
            for variant in args.variants:  # warm-up
                run_once(VARIANTS[variant], model, ids, training)
            best = dict.fromkeys(args.variants, float("inf"))
            for _ in range(args.repeats):
                for variant in args.variants:
                    best[variant] = min(best[variant], run_once(VARIANTS[variant], model, ids, training))
            for variant in args.variants:
                seconds = best[variant]
                speedup = best["reference"] / seconds if "reference" in best else float("nan")
                gflops = flops / seconds / 1e9
                print(
                    f"{name + f' {batch}x{width}':<22} {variant:<10} {batch / seconds:>9,.0f} {seconds * 1e3:>8.2f} "
                    f"{gflops:>8.1f} {100 * gflops / peak:>6.1f}% {speedup:>7.2f}x"
                )


if __name__ == "__main__":
    main()
