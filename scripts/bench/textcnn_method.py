"""The textcnn runs of the benchmark: TextCNNClassifier with its defaults (or --vectors, non-static),
scored, timed, and its useful FLOPs counted for the efficiency table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.bench.data import Split
from scripts.bench.jobs import NON_STATIC, Job
from scripts.bench.measure import current_rss_mb, score, timed

if TYPE_CHECKING:
    from textcnn import TextCNNClassifier

FORWARD_TIMING_ROWS = 2000  # test rows timed again through the model alone (keeps IMDB's extra pass short)


def run_textcnn(job: Job, train: Split, dev: Split | None, test: Split) -> dict[str, Any]:
    """Fit and score TextCNNClassifier; also count its useful FLOPs for the efficiency table."""
    from textcnn import TextCNNClassifier
    from textcnn.data import stratified_split
    from textcnn.flops import forward_flops, forward_flops_per_token, training_flops
    from textcnn.inference import predict_logits
    from textcnn.tokenization import encode_batch

    params = dict(job.textcnn_params)
    if job.method == NON_STATIC:
        params.update(vectors=job.vectors, embedding_mode="non-static")
    classifier = TextCNNClassifier(seed=job.seed, **params)
    rss_before = current_rss_mb()
    if dev is not None:
        _, train_seconds = timed(classifier.fit, train.texts, train.labels, X_valid=dev.texts, y_valid=dev.labels)
        fit_texts, valid_texts = train.texts, dev.texts
    else:
        _, train_seconds = timed(classifier.fit, train.texts, train.labels)
        fit_idx, valid_idx = stratified_split(train.labels, valid_fraction(classifier), job.seed)
        fit_texts = [train.texts[i] for i in fit_idx]
        valid_texts = [train.texts[i] for i in valid_idx]
    predictions, predict_seconds = timed(classifier.predict, test.texts)

    config = classifier.model_.config
    test_ids = encode_batch(classifier.tokenizer_, test.texts, config.max_length, config.truncation)
    forward_ids = test_ids[:FORWARD_TIMING_ROWS]
    _, forward_seconds = timed(predict_logits, classifier.model_, forward_ids, batch_size=classifier.predict_batch_size)

    def lengths(texts: list[str]) -> list[int]:
        return [len(ids) for ids in encode_batch(classifier.tokenizer_, texts, config.max_length, config.truncation)]

    fit_lengths, test_lengths = lengths(fit_texts), [len(ids) for ids in test_ids]
    valid_lengths = lengths(valid_texts)
    epochs, refit_epochs = len(classifier.history_), len(classifier.refit_history_)
    loop_seconds = sum(record["seconds"] for record in [*classifier.history_, *classifier.refit_history_])
    # A refit trains on the validation rows too, without validating.
    train_flops = epochs * (training_flops(config, fit_lengths) + forward_flops(config, valid_lengths))
    train_flops += refit_epochs * training_flops(config, fit_lengths + valid_lengths)
    rows_trained = len(fit_texts) * epochs + (len(fit_texts) + len(valid_texts)) * refit_epochs
    test_flops = forward_flops(config, test_lengths)
    forward_only_flops = forward_flops(config, test_lengths[:FORWARD_TIMING_ROWS])
    return {
        **score(test.labels, predictions),
        "validation": "dev" if dev is not None else f"carved {valid_fraction(classifier):.0%} of train",
        "n_train": len(fit_texts),
        "n_valid": len(valid_texts),
        "n_test": len(test.texts),
        "epochs": epochs,
        "best_epoch": classifier.best_epoch_,
        "refit_epochs": refit_epochs,
        "train_seconds": train_seconds,
        "train_sentences_per_s": rows_trained / train_seconds,
        "predict_seconds": predict_seconds,
        "predict_sentences_per_s": len(test.texts) / predict_seconds,
        "rss_before_fit_mb": rss_before,
        "params": params,
        "train_tokens": int(sum(fit_lengths)),
        "test_tokens": int(sum(test_lengths)),
        "forward_flops_per_token": forward_flops_per_token(config),
        "train_loop_seconds": loop_seconds,
        "train_flops": train_flops,
        "train_gflops": train_flops / loop_seconds / 1e9,
        "inference_flops": test_flops,
        "inference_gflops": test_flops / predict_seconds / 1e9,
        "inference_model_rows": len(forward_ids),
        "inference_model_seconds": forward_seconds,
        "inference_model_gflops": forward_only_flops / forward_seconds / 1e9,
    }


def valid_fraction(classifier: TextCNNClassifier) -> float:
    """The share of train that a fitted classifier without a dev split held out for validation."""
    assert classifier.train_config_ is not None  # fit() sets it
    return classifier.train_config_.valid_fraction
