"""glibc's allocator, told to keep large buffers out of its heap while a process ingests.

Speech (whisper's audio and features) allocates and frees buffers of megabytes every
chunk. glibc raises its mmap threshold whenever such a block is freed (up to 32 MiB),
so later ones are carved from the heap, where the small blocks that live on between
them keep the pages from going back to the system: on the 20-minute haystack, speech
alone climbed from 1117 to 1215 MB over 4 chunks (``malloc_trim`` did not release what
the whole ingest gained). A fixed threshold, which also stops the raising, sends those
buffers to mmap, returned whole when freed: speech alone then stayed at 869-881 MB with
1 MiB, and the whole 20-minute ingest peaked at 1.69 GiB instead of 1.97, though it
still climbed about 50 MB a chunk (that part of the growth is not speech's). It costs
time, as every such buffer is then faulted in afresh: at 1 MiB speech took 15.7-19.5 s
instead of 12.0 s on the 5-minute haystack, at 128 KiB the 20-minute ingest was 23%
slower. So it is off by default (``VIDKG_INDEXER__MMAP_THRESHOLD_BYTES``), for hosts
where memory is what runs out.

What does not wait for a threshold is giving the heap's free pages back after each unit
of work (:func:`release_free_memory`, glibc's ``malloc_trim``). The sentence model alone
shows why: fed batches of new shapes (each chunk's texts differ in number and length),
one process climbed from 1250 to 1466 MB over 40 rounds, and stayed at 1065-1069 MB with
a trim after each round. In a whole ingest it lowers the peak (60-minute haystack: 2.16
GiB against 2.26-2.31). The growth with length that remained was not the allocator's but
live data, each chunk's frames kept by a stored exception (``Pipeline.stage``).
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def fix_mmap_threshold(nbytes: int) -> bool:
    """Set glibc's mmap threshold to ``nbytes`` for the rest of the process; False where
    it cannot be set (not Linux, not glibc, or 0: glibc's own rising threshold kept)."""
    if nbytes <= 0 or not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # absent in musl
    if mallopt is None:
        return False
    done = bool(mallopt(M_MMAP_THRESHOLD, ctypes.c_int(nbytes)))
    if not done:
        log.warning("glibc refused an mmap threshold of %d bytes", nbytes)
    return done


def release_free_memory() -> bool:
    """Return the heap's free pages to the system (glibc's ``malloc_trim(0)``, every
    arena); False where there is no such call (not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is None:
        return False
    trim(ctypes.c_size_t(0))
    return True
