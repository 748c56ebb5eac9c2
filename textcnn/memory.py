"""Allocator settings that keep long CPU training runs from hoarding freed memory (glibc only).

glibc serves large blocks with `mmap` and returns them to the system when freed, but it raises
that threshold (up to 32 MB) each time such a block is freed. After a few training steps every
activation tensor then comes from the heap; their sizes change with each batch's text length, the
heap fragments, and freed memory is rarely given back. Pinning the threshold at 1 MB keeps big
tensors out of the heap. Measured with 6,000 IMDB reviews, 2 epochs, one thread: peak RSS 1.56 GB
-> 1.21 GB, fit time 170 s -> 173 s.

Process-wide, so the library never applies it on its own: the `textcnn` CLI does, and programs that
train in-process can call `limit_heap_fragmentation()` themselves.
"""

from __future__ import annotations

import ctypes
import sys

#: `mallopt` parameter numbers from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks of at least this many bytes get their own mapping, unmapped again when freed.
MMAP_THRESHOLD_BYTES = 1 << 20


def limit_heap_fragmentation() -> bool:
    """Pin glibc's mmap threshold and trim freed heap memory; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and other C libraries
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, 0))
