"""Giving freed memory back to the operating system.

CPython hands large objects (page bodies, result buffers) to the C allocator; glibc keeps the
freed space in its heaps for reuse, so a long crawl's process only ever grows. Trimming after
each stored batch returns the free pages while the work goes on.
"""

import ctypes
import ctypes.util
from collections.abc import Callable

_malloc_trim: Callable[[int], int] | None = None
_libc_name = ctypes.util.find_library("c")
if _libc_name is not None:
    _trim = getattr(ctypes.CDLL(_libc_name), "malloc_trim", None)  # glibc only
    if _trim is not None:
        _trim.argtypes = [ctypes.c_size_t]
        _trim.restype = ctypes.c_int
        _malloc_trim = _trim


def release_free_memory() -> bool:
    """Returns the C heap's free pages to the OS (all arenas); False where the C library has
    no malloc_trim (musl, macOS), which then does nothing."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True
