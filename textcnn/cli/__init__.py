"""The `textcnn` command line: a thin shell over the library, one module per command.

`main` is the console script. It imports the command group only once it runs, so that a Ctrl-C at
any moment of start-up, even while click or a command's libraries are being imported, ends with
one line and exit status 130 (128 + SIGINT, as a shell reports it) instead of a traceback.
"""

from __future__ import annotations

import signal
import sys

#: The one line printed when Ctrl-C ends a command before training handles it.
ABORTED = "Aborted."


def main() -> None:
    """Run the `textcnn` command group with `sys.argv`; exit with its status."""
    try:
        from textcnn.cli.main import cli

        cli()
    except KeyboardInterrupt:
        sys.stderr.write(f"{ABORTED}\n")
        sys.exit(128 + signal.SIGINT)
