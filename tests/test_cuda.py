"""CUDA paths (autocast, pinned memory): run only where a GPU is visible, skipped cleanly elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SMALL

from textcnn import TextCNNClassifier

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_trains_on_cuda_and_the_saved_model_predicts_alike_on_cpu(corpus, test_corpus, tmp_path) -> None:
    texts, labels = corpus
    clf = TextCNNClassifier(**{**SMALL, "device": "cuda"}).fit(texts, labels)
    assert next(clf.model_.parameters()).is_cuda
    assert clf.score(*test_corpus) >= 0.9
    clf.save(tmp_path / "m")
    on_cpu = TextCNNClassifier.load(tmp_path / "m", device="cpu")
    # autocast runs the GPU forward in bf16/fp16: probabilities agree to mixed-precision tolerance
    np.testing.assert_allclose(on_cpu.predict_proba(test_corpus[0]), clf.predict_proba(test_corpus[0]), atol=2e-2)
