"""ONNX export of a trained model, checked against PyTorch with onnxruntime, and loading it back.

An export folder holds everything a server needs besides onnxruntime and a tokenizer library::

    model.onnx      the network: input `input_ids` (int64, batch x length), output `logits`
                    (float32, batch x num_classes); both axes dynamic
    export.json     the export manifest: opset, quantisation, input/output names, the check's figures
    config.json     the model's config.json (max_length, truncation, pad_id, ...)
    tokenizer.json  the model's tokenizer (Hugging Face tokenizers)
    labels.json     class names, in the order of the logits

What the graph expects of `input_ids` (what `textcnn predict --engine onnx` does for you): the
tokenizer's ids of each text without special tokens, truncated to `max_length` as `truncation`
says (`textcnn.tokenization.encode_batch`), right-padded with `pad_id` to the batch's longest
text, at least one column wide. Texts shorter than the widest kernel need no padding beyond that:
the graph pads with zero vectors itself (`textcnn.export.graph`). A text longer than `max_length`
is accepted too, but the model was trained on truncated texts.

`export_onnx` refuses to write a folder whose graph does not give PyTorch's results: onnxruntime
runs it on sample inputs, and fp32 logits must lie within `FP32_TOLERANCE` of PyTorch's, int8
predictions agree with PyTorch's on at least `INT8_MIN_AGREEMENT` of them.

Reading an export back (`load_onnx_export`) refuses, in one line each, a folder that is not an
export (a PyTorch model folder, a bare .onnx file), a file onnxruntime cannot parse, and a graph
textcnn did not write or whose inputs are not `input_ids`.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from textcnn import __version__
from textcnn.atomic import atomic_directory
from textcnn.batching import inference_batches, pad_batch
from textcnn.config import FORMAT_VERSION, ModelConfig
from textcnn.errors import TextCNNError, first_line
from textcnn.export.graph import ExportGraph
from textcnn.inference import predict_logits
from textcnn.model import TextCNN
from textcnn.persistence import (
    CONFIG_FILE,
    LABELS_FILE,
    TOKENIZER_FILE,
    check_class_names,
    check_tokenizer_fits,
    read_json,
    to_json_value,
)
from textcnn.tokenization import encode_batch, load_tokenizer, prepare_tokenizer

ONNX_FILE = "model.onnx"
MANIFEST_FILE = "export.json"
EXPORT_FILES = (ONNX_FILE, MANIFEST_FILE, CONFIG_FILE, TOKENIZER_FILE, LABELS_FILE)
#: `export.json`'s "format", and the key of the .onnx file's metadata that marks a textcnn export.
EXPORT_FORMAT = "textcnn-onnx"
EXPORT_FORMAT_VERSION = 1
INPUT_NAME = "input_ids"
OUTPUT_NAME = "logits"
#: Opset 17 is read by every onnxruntime since 1.11 (2022).
OPSET = 17
QUANTIZATIONS = ("int8",)
#: What `quantize="int8"` quantises: the embedding table (Gather), nearly all of a model's weights.
#: The convolutions stay float32: onnxruntime's int8 convolutions (ConvInteger), and int8 matrix
#: products over unfolded windows, ran slower than its float32 Conv (docs/export.md).
INT8_OPS = ("Gather",)
#: Largest |logit difference| to PyTorch accepted from an fp32 export (float rounding is ~1e-6).
FP32_TOLERANCE = 1e-4
#: Share of sample inputs on which an int8 export must predict PyTorch's class.
INT8_MIN_AGREEMENT = 0.99
#: Generated sample inputs of the check (besides the fixed edge cases) when no data is given.
GENERATED_SAMPLES = 512
#: The install line named when onnx or onnxruntime is missing.
INSTALL_HINT = "pip install 'textcnn[onnx]' (or: pip install onnx onnxruntime)"


def require(module: str) -> Any:
    """Import `module` (onnx, onnxruntime), or say in one line how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise TextCNNError(
            f"{top} is not installed, and ONNX export and --engine onnx need it: {INSTALL_HINT}"
        ) from None


@dataclass
class CheckReport:
    """How an export's onnxruntime outputs compare with PyTorch's on the sample inputs."""

    samples: int
    source: str  # "generated", or the data the texts came from
    max_abs_diff: float  # largest |logit difference|
    argmax_agreement: float  # share of samples with the same predicted class
    quantization: str | None
    tolerance: float | None  # fp32: the largest max_abs_diff accepted
    min_agreement: float | None  # int8: the smallest argmax_agreement accepted
    shortest: int  # token counts of the shortest and longest sample
    longest: int

    @property
    def passed(self) -> bool:
        if self.quantization is None:
            return self.max_abs_diff <= (self.tolerance or 0.0)
        return self.argmax_agreement >= (self.min_agreement or 1.0)

    def summary(self) -> str:
        if self.quantization is None:
            bound = f"max |logit diff| {self.max_abs_diff:.2e} (tolerance {self.tolerance:.0e})"
        else:
            bound = f"argmax agreement {self.argmax_agreement:.2%} (at least {self.min_agreement:.0%} required)"
        other = (
            f"argmax agreement {self.argmax_agreement:.2%}"
            if self.quantization is None
            else f"max |logit diff| {self.max_abs_diff:.2e}"
        )
        return (
            f"onnxruntime vs PyTorch on {self.samples} {self.source} inputs ({self.shortest}-{self.longest} tokens): "
            f"{bound}, {other}"
        )


@dataclass
class ExportResult:
    path: Path
    check: CheckReport
    onnx_bytes: int


def export_onnx(
    model: Any,
    out: str | Path,
    *,
    quantize: str | None = None,
    check_texts: Sequence[str | None] | None = None,
    check_source: str = "given",
    opset: int = OPSET,
) -> ExportResult:
    """Write an export folder for `model` (a fitted `TextCNNClassifier`, or a model folder) at `out`.

    `quantize="int8"` stores the embedding table as int8 (`INT8_OPS`), about a quarter of the
    file size; the looked-up rows are dequantised to float32 for the convolutions.

    The folder is written only if onnxruntime's outputs match PyTorch's on sample inputs:
    `check_texts` (tokenised and truncated as for prediction; `check_source` names them in the
    report), else `generated_samples`, which include empty texts, texts shorter than the widest
    kernel and texts longer than max_length. An existing export folder at `out` is replaced.
    """
    if quantize not in (None, *QUANTIZATIONS):
        raise TextCNNError(f"`quantize` must be one of {QUANTIZATIONS} or None, not {quantize!r}")
    onnx = require("onnx")
    require("onnxruntime")
    network, tokenizer, classes, training = _network_of(model)
    config = network.config
    if check_texts is not None:
        texts = list(check_texts)
        if not texts:
            raise TextCNNError("`check_texts` holds no text; give some texts, or None for generated inputs")
        samples = encode_batch(tokenizer, texts, config.max_length, config.truncation)
    else:
        samples, check_source = generated_samples(config), "generated"
    reference = predict_logits(network, samples, device=torch.device("cpu"))
    graph = ExportGraph(network)
    out = Path(out)
    with atomic_directory(out, may_replace=holds_only_an_export) as tmp:
        fp32_path = tmp / (ONNX_FILE if quantize is None else "model.fp32.onnx")
        _trace(graph, fp32_path, opset)
        if quantize == "int8":
            _quantize_int8(fp32_path, tmp / ONNX_FILE)
            fp32_path.unlink()
        _mark(onnx, tmp / ONNX_FILE, config, quantize)
        session = open_session(tmp / ONNX_FILE, num_threads=None)
        logits = run_logits(session, samples, config)
        report = compare(reference, logits, samples, check_source, quantize)
        if not report.passed:
            raise TextCNNError(
                f"the exported graph does not reproduce PyTorch's results: {report.summary()}; nothing was written "
                "(report this as a bug, with the model's config.json)"
            )
        manifest = {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_FORMAT_VERSION,
            "textcnn_version": __version__,
            "opset": opset,
            "quantization": quantize,
            "inputs": [{"name": INPUT_NAME, "dtype": "int64", "shape": ["batch", "length"]}],
            "outputs": [{"name": OUTPUT_NAME, "dtype": "float32", "shape": ["batch", config.num_classes]}],
            "input_contract": {
                "pad_id": config.pad_id,
                "max_length": config.max_length,
                "truncation": config.truncation,
                "min_columns": 1,
                "add_special_tokens": False,
            },
            "check": asdict(report),
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        tokenizer.save(str(tmp / TOKENIZER_FILE))
        labels = [to_json_value(c) for c in classes]
        (tmp / LABELS_FILE).write_text(json.dumps(labels, ensure_ascii=False, indent=2), encoding="utf-8")
        saved_config = {"format_version": FORMAT_VERSION, "model": config.to_dict(), "training": training}
        (tmp / CONFIG_FILE).write_text(json.dumps(saved_config, indent=2), encoding="utf-8")
        onnx_bytes = (tmp / ONNX_FILE).stat().st_size
    return ExportResult(path=out, check=report, onnx_bytes=onnx_bytes)


def _network_of(model: Any) -> tuple[TextCNN, Tokenizer, list[Any], dict[str, Any] | None]:
    """The network (on the CPU, in evaluation mode), tokenizer, classes and training config of `model`."""
    if isinstance(model, str | Path):
        from textcnn.persistence import load_model_dir

        if (Path(model) / MANIFEST_FILE).is_file():
            raise TextCNNError(f"{model} is already an ONNX export folder; export the PyTorch model folder instead")
        saved = load_model_dir(model, device="cpu")
        training = saved.train_config.to_dict() if saved.train_config is not None else None
        return saved.model, saved.tokenizer, list(saved.classes), training
    network = getattr(model, "model_", None)
    if not isinstance(network, TextCNN):
        raise TextCNNError("model must be a fitted TextCNNClassifier or a model folder; fit or load it first")
    if next(network.parameters()).device.type != "cpu":  # compare on the CPU in float32, as onnxruntime runs
        network = copy.deepcopy(network).cpu()
    network = network.eval()
    train_config = getattr(model, "train_config_", None)
    training = train_config.to_dict() if train_config is not None else None
    return network, model.tokenizer_, list(model.classes_), training


def generated_samples(config: ModelConfig, count: int = GENERATED_SAMPLES, seed: int = 0) -> list[list[int]]:
    """Token id sequences for the check: every length from 0 to the widest kernel + 1, max_length,
    and just past and well past it, then `count` of random lengths up to max_length."""
    rng = np.random.default_rng(seed)
    words = np.array([i for i in range(config.vocab_size) if i != config.pad_id] or [config.pad_id])
    widest = max(config.kernel_sizes)
    lengths = [*range(widest + 2), config.max_length, config.max_length + 1, 2 * config.max_length + 3]
    lengths += rng.integers(1, config.max_length + 1, size=count).tolist()
    return [rng.choice(words, size=n).tolist() for n in lengths]


def _trace(graph: ExportGraph, path: Path, opset: int) -> None:
    """The TorchScript-based exporter, which needs nothing beyond torch and onnx (the torch.export
    one needs onnxscript), with both input axes dynamic."""
    example = torch.ones(2, max(graph.kernel_sizes) + 1, dtype=torch.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice and tracer warnings about Python ints
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch", 1: "length"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
        )


def _quantize_int8(source: Path, target: Path, op_types: Sequence[str] = INT8_OPS) -> None:
    """onnxruntime dynamic quantisation of `op_types`: int8 weights (per tensor), activations
    quantised per batch at run time where an op computes in int8."""
    quantization = require("onnxruntime.quantization")
    with warnings.catch_warnings(), _logging_off():
        warnings.simplefilter("ignore")
        quantization.quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=list(op_types),
            weight_type=quantization.QuantType.QInt8,
            per_channel=False,
        )


@contextmanager
def _logging_off() -> Iterator[None]:
    """Silence the root-logger advice onnxruntime's quantiser prints (to run its pre-processing,
    which changes nothing for this graph)."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _mark(onnx: Any, path: Path, config: ModelConfig, quantize: str | None) -> None:
    """Record in the .onnx file itself that textcnn wrote it, and with which input contract."""
    proto = onnx.load(str(path))
    proto.producer_name = "textcnn"
    proto.producer_version = __version__
    marks = {
        EXPORT_FORMAT: str(EXPORT_FORMAT_VERSION),
        "pad_id": str(config.pad_id),
        "max_length": str(config.max_length),
        "truncation": config.truncation,
        "num_classes": str(config.num_classes),
        "quantization": quantize or "none",
    }
    del proto.metadata_props[:]
    for key, value in marks.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def compare(
    reference: np.ndarray,
    logits: np.ndarray,
    samples: Sequence[Sequence[int]],
    source: str,
    quantize: str | None,
) -> CheckReport:
    lengths = [len(s) for s in samples]
    return CheckReport(
        samples=len(samples),
        source=source,
        max_abs_diff=float(np.abs(reference - logits).max()),
        argmax_agreement=float((reference.argmax(axis=1) == logits.argmax(axis=1)).mean()),
        quantization=quantize,
        tolerance=FP32_TOLERANCE if quantize is None else None,
        min_agreement=INT8_MIN_AGREEMENT if quantize is not None else None,
        shortest=min(lengths),
        longest=max(lengths),
    )


def holds_only_an_export(path: Path) -> bool:
    """True for a folder holding nothing but export files (a previous export, say)."""
    return all(entry.name in EXPORT_FILES for entry in path.iterdir())


# ------------------------------------------------------------------------------------- loading


@dataclass
class OnnxExport:
    """An export folder, checked: its config, tokenizer, classes and onnxruntime session."""

    path: Path
    config: ModelConfig
    tokenizer: Tokenizer
    classes: list[Any]
    manifest: dict[str, Any]
    session: Any  # onnxruntime.InferenceSession
    num_threads: int | None = None

    def session_for(self, num_threads: int | None) -> Any:
        """The session, reopened when another number of threads is wanted."""
        if num_threads != self.num_threads:
            self.session = open_session(self.path / ONNX_FILE, num_threads=num_threads)
            self.num_threads = num_threads
        return self.session


def load_onnx_export(path: str | Path) -> OnnxExport:
    """Open an export folder written by `export_onnx`; every problem is one `TextCNNError` line."""
    path = Path(path)
    if path.is_file() and path.suffix == ".onnx":
        if (path.parent / MANIFEST_FILE).is_file():
            path = path.parent
        else:
            raise TextCNNError(
                f"{path} is a bare .onnx file; `engine='onnx'` takes the folder `textcnn export` writes "
                "(model.onnx with export.json, tokenizer.json, labels.json and config.json)"
            )
    if not path.is_dir():
        raise TextCNNError(f"export folder not found: {path}")
    if not (path / ONNX_FILE).is_file():
        if (path / "model.safetensors").is_file():
            raise TextCNNError(
                f"{path} is a PyTorch model folder, not an ONNX export: use --engine torch, or export it first "
                f"with `textcnn export {path} --format onnx --out DIR`"
            )
        raise TextCNNError(f"{path} is not a textcnn ONNX export folder: {ONNX_FILE} is missing")
    for name in EXPORT_FILES:
        if not (path / name).is_file():
            raise TextCNNError(f"{path} is not a complete textcnn ONNX export folder: {name} is missing")
    manifest = read_json(path / MANIFEST_FILE)
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise TextCNNError(f'{path / MANIFEST_FILE} is not a textcnn export manifest (no "format": "{EXPORT_FORMAT}")')
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > EXPORT_FORMAT_VERSION:
        raise TextCNNError(
            f"{path / MANIFEST_FILE} has format_version {json.dumps(version)}, which this textcnn does not read "
            f"(it reads up to {EXPORT_FORMAT_VERSION}); upgrade textcnn or export the model again"
        )
    raw = read_json(path / CONFIG_FILE)
    try:
        config = ModelConfig.from_dict(raw["model"])
    except (TypeError, ValueError, KeyError) as error:
        raise TextCNNError(f"{path / CONFIG_FILE} is not a valid textcnn config: {error}") from None
    classes = read_json(path / LABELS_FILE)
    if not isinstance(classes, list) or len(classes) != config.num_classes:
        raise TextCNNError(f"{path / LABELS_FILE} must list {config.num_classes} class names")
    check_class_names(classes, path / LABELS_FILE)
    tokenizer = prepare_tokenizer(load_tokenizer(path / TOKENIZER_FILE))
    check_tokenizer_fits(tokenizer, config, path / TOKENIZER_FILE)
    session = open_session(path / ONNX_FILE, num_threads=None)
    check_session(session, path / ONNX_FILE, config)
    return OnnxExport(
        path=path, config=config, tokenizer=tokenizer, classes=classes, manifest=manifest, session=session
    )


def open_session(path: Path, *, num_threads: int | None) -> Any:
    """An onnxruntime CPU session of `path`; a file that is not ONNX is a one-line `TextCNNError`."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the CLI reports failures itself
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types (InvalidProtobuf, Fail, ...)
        first = first_line(error)
        raise TextCNNError(
            f"{path} is corrupt or not a valid ONNX model (onnxruntime: {first}); export the model again "
            "with `textcnn export`"
        ) from None


def check_session(session: Any, path: Path, config: ModelConfig) -> None:
    """Refuse a graph textcnn did not write, or whose inputs and outputs are not an export's."""
    metadata = session.get_modelmeta().custom_metadata_map
    inputs, outputs = session.get_inputs(), session.get_outputs()
    signature = ", ".join(f"{i.name}: {i.type}" for i in inputs) or "none"
    if EXPORT_FORMAT not in metadata:
        raise TextCNNError(
            f"{path} was not exported by textcnn (inputs: {signature}); export the model folder with "
            "`textcnn export MODEL_DIR --format onnx --out DIR`"
        )
    if (
        len(inputs) != 1
        or inputs[0].name != INPUT_NAME
        or inputs[0].type != "tensor(int64)"
        or len(inputs[0].shape) != 2
        or [o.name for o in outputs] != [OUTPUT_NAME]
    ):
        raise TextCNNError(
            f"{path} has inputs ({signature}) and outputs ({', '.join(o.name for o in outputs)}), not the "
            f"{INPUT_NAME}: tensor(int64) -> {OUTPUT_NAME} of a textcnn export; export the model again"
        )
    width = outputs[0].shape[-1] if outputs[0].shape else None
    if isinstance(width, int) and width != config.num_classes:
        raise TextCNNError(
            f"{path} gives {width} logits per text but its {CONFIG_FILE} has {config.num_classes} classes: "
            "the files come from different models; export the model again"
        )


def run_logits(
    session: Any,
    sequences: Sequence[Sequence[int]],
    config: ModelConfig,
    *,
    batch_size: int = 256,
    max_batch_tokens: int | None = None,
) -> np.ndarray:
    """Logits (n, num_classes) of `session` for token id `sequences`, rows in input order.

    Batches are length-sorted as for the PyTorch engine (`textcnn.batching.inference_batches`)
    and right-padded with `pad_id` to at least the widest kernel, as the network pads them.
    """
    out = np.empty((len(sequences), config.num_classes), dtype=np.float32)
    lengths = [len(s) for s in sequences]
    min_length = max(config.kernel_sizes)
    for batch_indices in inference_batches(lengths, batch_size, max_batch_tokens):
        batch = pad_batch([sequences[i] for i in batch_indices], config.pad_id, min_length).numpy()
        out[batch_indices] = session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
    return out
