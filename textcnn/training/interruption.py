"""Stopping training cleanly: a stop flag the training loop polls, and an opt-in signal handler.

The library never installs signal handlers by itself. A caller that wants Ctrl-C / SIGTERM to
stop training gracefully (the CLI does) wraps the run in `stop_on_signals(flag)` and passes the
flag to `fit_dataset(..., should_stop=flag)`: the first signal lets the current step finish and
the run end with a checkpoint; a second one aborts at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from textcnn.devices import is_first_process_on_node

logger = logging.getLogger(__name__)

DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class AbortedBySignal(KeyboardInterrupt):
    """The second signal: stop at once. `exit_code` follows the shell convention, 128 + N."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


class StopFlag:
    """A thread-safe "please stop" request; calling the flag tells whether it was raised."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal: int | None = None

    def request(self, signum: int | None = None) -> None:
        """Ask the training loop to stop after its current step."""
        if not self._event.is_set():
            self.signal = signum
            self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    @property
    def exit_code(self) -> int:
        """The shell convention for a process ended by signal N: 128 + N (130 for Ctrl-C)."""
        return 128 + (self.signal if self.signal is not None else signal.SIGINT)


@contextmanager
def stop_on_signals(flag: StopFlag, signals: Sequence[int] = DEFAULT_SIGNALS) -> Iterator[StopFlag]:
    """While active, the first of `signals` raises `flag`; the next one aborts (`AbortedBySignal`,
    a KeyboardInterrupt).

    The previous handlers come back on exit. Outside the main thread (where Python cannot
    install handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if flag():
            raise AbortedBySignal(signum)
        flag.request(signum)
        if is_first_process_on_node():  # under torchrun every process gets the signal; one says so
            logger.warning(
                "%s received: stopping after the current step (send it again to abort at once)",
                signal.Signals(signum).name,
            )

    previous = {signum: signal.signal(signum, handle) for signum in signals}
    try:
        yield flag
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While active, SIGTERM (a scheduler's kill) raises SystemExit(143), so that `finally` blocks
    and context managers run: temporary outputs are removed, locks released. Outside the main
    thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
