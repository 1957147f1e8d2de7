"""Giving freed memory back to the OS (core/memory.py), measured on this process."""

import gc
import sys

import psutil
import pytest

from app.core.memory import release_free_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_page_sized_buffers_leave_the_process_after_a_release() -> None:
    process = psutil.Process()
    # Page-sized bodies interleaved with small long-lived objects, as a crawl leaves them:
    # freeing the bodies leaves holes the C heap keeps, however much of it is free.
    bodies, survivors = [], []
    for _ in range(8000):
        bodies.append(bytes(8_000))
        survivors.append(bytearray(1_000))
    del bodies
    gc.collect()
    before = process.memory_info().rss

    assert release_free_memory()

    after = process.memory_info().rss
    assert before - after > 20 * 1024 * 1024, (before, after)
    assert len(survivors) == 8000
