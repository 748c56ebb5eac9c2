"""Run an iterator in a background thread, a bounded number of items ahead of its consumer.

Used to overlap reading + tokenisation of the next chunk with inference on the current one: the
fast batch encoder of `tokenizers` and most of Arrow's readers release the GIL, and so does torch,
so the two really run at the same time. The queue is bounded, so memory stays constant however
large the input is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_ITEM, _DONE, _ERROR = range(3)
#: How often a blocked producer checks whether the consumer has gone away (seconds).
_POLL_SECONDS = 0.1
#: How long closing waits for the producer to notice; it is a daemon thread, so a producer stuck in
#: a blocking read (stdin) never keeps the process alive.
_JOIN_SECONDS = 5.0


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield the items of `items`, produced in a background thread at most `depth` ahead.

    An exception raised by the producer is re-raised in the consumer at the point where the item
    would have been yielded. Closing the returned generator (or an exception in the consumer) stops
    the producer and closes `items` in the producer's thread.
    """
    slots: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[int, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((_ITEM, item)):
                    return
            put((_DONE, None))
        except BaseException as error:
            put((_ERROR, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="textcnn-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == _DONE:
                return
            if kind == _ERROR:
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while True:  # free the slot a blocked producer may be waiting for
            try:
                slots.get_nowait()
            except queue.Empty:
                break
        thread.join(_JOIN_SECONDS)
