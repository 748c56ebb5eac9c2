"""The `textcnn` command group and its error handling.

Importing this module imports click and the command modules, not torch, `datasets` or
scikit-learn: each command imports what it needs when it runs, so that `textcnn --help` is quick.
The console script is `textcnn.cli:main`, which also turns a Ctrl-C during these imports into exit
status 130.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

import click

from textcnn import __version__
from textcnn.cli import ABORTED
from textcnn.cli.errors import FlagsInMessages, as_flags
from textcnn.cli.evaluate import evaluate_command
from textcnn.cli.explain import explain_command
from textcnn.cli.export import export_command
from textcnn.cli.inspect import inspect_command
from textcnn.cli.predict import predict_command
from textcnn.cli.train import train_command
from textcnn.cli.vectors import vectors_command
from textcnn.errors import TextCNNError


class TextCNNGroup(click.Group):
    """Turns library errors into one `Error: ...` line and exit status 1, without a traceback; an
    abort by signal exits with the shell's 128 + N (130 for Ctrl-C), as a graceful stop does. A
    message names the flags of the command where the library names its Python parameters."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:  # click itself would say "Aborted!" and exit 1
            click.echo(ABORTED, err=True)
            raise click.exceptions.Exit(128 + signal.SIGINT) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        except click.ClickException as error:
            _leave_for_torchrun(f"Error: {error.format_message()}")
            from textcnn.devices import is_first_process_on_node

            if is_first_process_on_node():
                raise
            # Under torchrun every process runs the same command and mostly meets the same error: the
            # first process of each machine says it (once per node, so a problem one machine alone
            # has, such as a file missing there, is still reported), the others exit with its status.
            raise click.exceptions.Exit(error.exit_code) from None
        except click.exceptions.Exit:
            raise  # a chosen exit status (an abort by signal), not a failure to report
        except Exception:
            # A bug, or the environment failing (CUDA out of memory): every process prints its
            # traceback, and torchrun's report names the process and shows it too.
            _leave_for_torchrun(traceback.format_exc().rstrip())
            raise

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TextCNNError as error:
            raise click.ClickException(as_flags(str(error))) from None
        except KeyboardInterrupt as error:  # a second Ctrl-C / SIGTERM, or Ctrl-C outside training
            click.echo(ABORTED, err=True)
            ctx.exit(getattr(error, "exit_code", 128 + signal.SIGINT))
        except BrokenPipeError:
            raise  # `textcnn predict ... | head`: click ends quietly
        except OSError as error:  # a full disk, a read-only folder, ...: the environment, not a bug
            where = f": {error.filename}" if error.filename else ""
            raise click.ClickException(f"{error.strerror or error}{where}") from None


def _leave_for_torchrun(message: str) -> None:
    """Under torchrun, also write the error where torchrun's failure report reads it (the worker's
    TORCHELASTIC_ERROR_FILE, as torch's own `@record` would): an error met only by a process that
    does not print it (local rank 1, say) then still reaches the user, in that report's "Root
    Cause" section."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    with contextlib.suppress(OSError):  # the report is a courtesy; the exit status still says the run failed
        Path(path).write_text(json.dumps({"message": message, "timestamp": int(time.time())}), encoding="utf-8")


@click.group(cls=TextCNNGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="textcnn")
def cli() -> None:
    """Convolutional text classification (Kim 2014): train, evaluate, predict, explain; word vectors."""
    root = logging.getLogger()
    had_handlers = list(root.handlers)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for handler in root.handlers:
        if handler not in had_handlers:  # the handler this call added, not one of its host's (pytest's)
            handler.addFilter(FlagsInMessages())


cli.add_command(train_command)
cli.add_command(evaluate_command)
cli.add_command(predict_command)
cli.add_command(vectors_command)
cli.add_command(export_command)
cli.add_command(explain_command)
cli.add_command(inspect_command)
