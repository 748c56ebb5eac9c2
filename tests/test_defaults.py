"""One set of defaults: the CLI, the estimator and the config dataclasses must agree."""

from __future__ import annotations

import dataclasses
import inspect

import click

from textcnn import TextCNNClassifier
from textcnn.cli.train import train_command
from textcnn.config import ModelConfig, TrainConfig
from textcnn.sizing import AUTO, resolve_sizing

AUTO_SIZES = ("max_length", "num_filters")
AUTO_SIZES_ON_SENTENCES = resolve_sizing(AUTO, AUTO, median_tokens=20.0)


def estimator_defaults() -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(TextCNNClassifier.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def test_estimator_defaults_match_the_config_dataclasses() -> None:
    defaults = estimator_defaults()
    checked = 0
    for config in (TrainConfig, ModelConfig):
        for field in dataclasses.fields(config):
            if field.name in defaults and field.default is not dataclasses.MISSING and defaults[field.name] is not None:
                expected = defaults[field.name]
                if field.name in AUTO_SIZES:  # "auto" resolves to the dataclass default on sentences
                    assert expected == AUTO, field.name
                    expected = getattr(AUTO_SIZES_ON_SENTENCES, field.name)
                assert expected == field.default, field.name
                checked += 1
    assert checked >= 15


def test_cli_train_defaults_match_the_estimator() -> None:
    defaults = estimator_defaults()
    context = click.Context(train_command)
    checked = 0
    for param in train_command.params:
        value = param.get_default(context, call=True)
        if isinstance(value, str):  # e.g. "3,4,5" for --kernel-sizes
            value = param.type_cast_value(context, value)
        if param.name in defaults and value is not None:
            expected = defaults[param.name]
            assert value == (tuple(expected) if isinstance(expected, list | tuple) else expected), param.name
            checked += 1
    assert checked >= 10
