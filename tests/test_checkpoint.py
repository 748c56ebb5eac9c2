"""Checkpoints, resume, stopping and atomic model directories, at the library level."""

from __future__ import annotations

import json
import os
import pickle
import signal

import datasets
import pytest
import torch
from conftest import SMALL, StopAfterSteps, make_corpus

from textcnn import TextCNNClassifier, TextCNNError
from textcnn import persistence as persistence_module
from textcnn.persistence import save_model_dir
from textcnn.tokenization import train_tokenizer
from textcnn.training.checkpoint import FILES, OPTIMIZER_FILE, load_checkpoint
from textcnn.training.interruption import StopFlag, stop_on_signals

# word_dropout > 0 so the word-dropout generator's state must survive the resume too.
PARAMS = {**SMALL, "epochs": 4, "patience": 10, "word_dropout": 0.1}


@pytest.fixture(scope="module")
def data() -> datasets.Dataset:
    texts, labels = make_corpus(150, seed=3)
    return datasets.Dataset.from_dict({"text": texts, "label": labels})


@pytest.fixture(scope="module")
def uninterrupted(data) -> TextCNNClassifier:
    return TextCNNClassifier(**PARAMS).fit_dataset(data)


def _history(classifier: TextCNNClassifier) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in classifier.history_]


def _assert_same_weights(a: TextCNNClassifier, b: TextCNNClassifier) -> None:
    state_a, state_b = a.model_.state_dict(), b.model_.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name


class StopAfterEpoch:
    """Epoch callback raising the stop flag once epoch `k` is done (like Ctrl-C during epoch k+1)."""

    def __init__(self, k: int) -> None:
        self.k, self.flag = k, StopFlag()

    def __call__(self, record: dict) -> None:
        if record["epoch"] == self.k:
            self.flag.request()


@pytest.mark.parametrize("k", [1, 2])
def test_resume_after_epoch_k_ends_with_the_uninterrupted_weights(data, uninterrupted, tmp_path, k: int) -> None:
    stop = StopAfterEpoch(k)
    first = TextCNNClassifier(**PARAMS).fit_dataset(
        data, callbacks=[stop], checkpoint_dir=tmp_path / "ckpt", should_stop=stop.flag
    )
    assert first.interrupted_
    assert len(first.history_) == k
    resumed = TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    assert not resumed.interrupted_
    _assert_same_weights(resumed, uninterrupted)
    assert _history(resumed) == _history(uninterrupted)
    assert resumed.best_epoch_ == uninterrupted.best_epoch_


def test_resume_from_the_middle_of_an_epoch_is_exact_too(data, uninterrupted, tmp_path) -> None:
    steps_per_epoch = -(-int(len(data) * 0.9) // PARAMS["batch_size"])
    stop = StopAfterSteps(steps_per_epoch + 3)  # epoch 2, after its third step
    first = TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", should_stop=stop)
    assert first.interrupted_ and first.best_epoch_ == 1
    state = json.loads((tmp_path / "ckpt" / "checkpoint.json").read_text())
    assert (state["epoch"], state["step"]) == (1, 3)
    resumed = TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    _assert_same_weights(resumed, uninterrupted)
    assert _history(resumed) == _history(uninterrupted)


def test_a_stopped_run_keeps_its_best_epoch_and_a_checkpoint_per_epoch(data, tmp_path) -> None:
    stop = StopAfterEpoch(2)
    clf = TextCNNClassifier(**PARAMS).fit_dataset(
        data, callbacks=[stop], checkpoint_dir=tmp_path / "ckpt", should_stop=stop.flag
    )
    assert clf.best_epoch_ in (1, 2)
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == sorted(FILES)
    lines = (tmp_path / "ckpt" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_a_checkpoint_from_the_first_epoch_is_strict_json_and_resumes(data, uninterrupted, tmp_path) -> None:
    TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", should_stop=StopAfterSteps(2))

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    state = json.loads((tmp_path / "ckpt" / "checkpoint.json").read_text(), parse_constant=no_constants)
    assert state["best_valid_accuracy"] is None  # no epoch validated yet
    resumed = TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    _assert_same_weights(resumed, uninterrupted)


def test_resume_with_other_settings_is_refused(data, tmp_path) -> None:
    stop = StopAfterEpoch(1)
    TextCNNClassifier(**PARAMS).fit_dataset(
        data, callbacks=[stop], checkpoint_dir=tmp_path / "ckpt", should_stop=stop.flag
    )
    with pytest.raises(TextCNNError, match=r"different run \(lr was 0\.003, now 0\.01\)"):
        TextCNNClassifier(**{**PARAMS, "lr": 0.01}).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    with pytest.raises(TextCNNError, match="data differ"):
        TextCNNClassifier(**PARAMS).fit_dataset(data.select(range(120)), checkpoint_dir=tmp_path / "ckpt", resume=True)
    # Same lengths, first and last words and labels; only the words in between differ.
    inner_changed = data.map(lambda row: {"text": _replace_inner_words(row["text"])})
    with pytest.raises(TextCNNError, match="data differ"):
        TextCNNClassifier(**PARAMS).fit_dataset(inner_changed, checkpoint_dir=tmp_path / "ckpt", resume=True)
    # A tokenizer file given only now would be used by the refit, which the run never validated.
    train_tokenizer(data["text"]).save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(TextCNNError, match="tokenizer was None, now '.*tokenizer.json'"):
        TextCNNClassifier(**{**PARAMS, "tokenizer": str(tmp_path / "tokenizer.json")}).fit_dataset(
            data, checkpoint_dir=tmp_path / "ckpt", resume=True
        )


def test_resume_with_another_number_of_processes_is_refused(data, tmp_path) -> None:
    """Each process runs its share of an epoch: under another world size the step counted in the
    checkpoint no longer says which batches are done (the rest of the epoch was skipped)."""
    stop = StopAfterSteps(3)
    TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", should_stop=stop)
    state_file = tmp_path / "ckpt" / "checkpoint.json"
    state = json.loads(state_file.read_text())
    assert state["run"]["world_size"] == 1
    state["run"]["world_size"] = 2  # as written by `torchrun --nproc-per-node 2`
    state_file.write_text(json.dumps(state))
    message = r"ckpt was written by 2 processes, now 1; resume"
    message += r" with the same number of processes \(torchrun --nproc-per-node 2\)"
    with pytest.raises(TextCNNError, match=message):
        TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True)
    del state["run"]["world_size"]  # a checkpoint from before the world size was kept resumes as it did
    state_file.write_text(json.dumps(state))
    assert not TextCNNClassifier(**PARAMS).fit_dataset(data, checkpoint_dir=tmp_path / "ckpt", resume=True).interrupted_


def _replace_inner_words(text: str) -> str:
    words = text.split()
    return " ".join([words[0], *(["same"] * (len(words) - 2)), words[-1]]) if len(words) > 2 else text


class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('x')",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_planted_pickle_in_a_checkpoint_is_never_executed(data, tmp_path, monkeypatch) -> None:
    stop = StopAfterEpoch(1)
    TextCNNClassifier(**PARAMS).fit_dataset(
        data, callbacks=[stop], checkpoint_dir=tmp_path / "ckpt", should_stop=stop.flag
    )
    assert load_checkpoint(tmp_path / "ckpt").state.epoch == 1  # the genuine file loads
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    (tmp_path / "ckpt" / OPTIMIZER_FILE).write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(TextCNNError, match=r"optimizer\.pt .*never fully unpickled"):
        load_checkpoint(tmp_path / "ckpt")
    torch.save({"state": {}, "param_groups": [], "payload": _Exploit()}, tmp_path / "ckpt" / OPTIMIZER_FILE)
    with pytest.raises(TextCNNError, match=r"optimizer\.pt"):
        load_checkpoint(tmp_path / "ckpt")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["checkpoint.json", "model.safetensors", "rng.safetensors", "tokenizer.json"])
def test_a_broken_checkpoint_file_is_named(data, tmp_path, name: str) -> None:
    stop = StopAfterEpoch(1)
    TextCNNClassifier(**PARAMS).fit_dataset(
        data, callbacks=[stop], checkpoint_dir=tmp_path / "ckpt", should_stop=stop.flag
    )
    (tmp_path / "ckpt" / name).write_bytes(b"\x00garbage{")
    with pytest.raises(TextCNNError, match=name.replace(".", r"\.")):
        load_checkpoint(tmp_path / "ckpt")


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
def test_stop_on_signals_sets_the_flag_then_aborts_and_restores_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    flag = StopFlag()
    with stop_on_signals(flag):
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag() and flag.exit_code == 128 + signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
    assert not StopFlag()()  # nothing is installed or raised by merely creating a flag


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(("local_rank", "says_so"), [("0", True), ("1", False)])
def test_under_torchrun_the_first_process_of_a_machine_says_a_signal_arrived(
    monkeypatch, caplog, local_rank: str, says_so: bool
) -> None:
    """torchrun passes Ctrl-C to every process: one line per machine, not one per process."""
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    flag = StopFlag()
    with caplog.at_level("WARNING", logger="textcnn.training.interruption"), stop_on_signals(flag):
        os.kill(os.getpid(), signal.SIGTERM)
    assert flag()
    assert ("SIGTERM received: stopping after the current step" in caplog.text) == says_so


def test_save_replaces_a_model_as_a_whole(fitted, tmp_path) -> None:
    target = fitted.save(tmp_path / "model")
    (target / "metrics.jsonl").write_text("stale\n")
    fitted.save(target)
    assert (target / "metrics.jsonl").read_text() != "stale\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failed_save_leaves_the_previous_model_untouched(fitted, tmp_path, monkeypatch) -> None:
    target = fitted.save(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(persistence_module, "save_safetensors", broken_save)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folder left behind


def test_save_refuses_a_directory_holding_other_files(fitted, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(TextCNNError, match="holds other files"):
        save_model_dir(tmp_path, model=fitted.model_, tokenizer=fitted.tokenizer_, classes=fitted.classes_)
    assert (tmp_path / "notes.txt").read_text() == "precious"
