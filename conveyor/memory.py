"""Keeps a long-lived worker's memory flat when it moves large buffers around."""

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3
_MIB = 1024 * 1024


def return_large_buffers_to_the_os() -> None:
    """Serves allocations of 1 MiB and more with mmap, so freeing them returns them.

    Export parts are megabytes, allocated on the event loop and freed in upload
    threads; glibc otherwise keeps such freed blocks in per-thread arenas, and
    the worker's RSS creeps up with every large export.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        libc = ctypes.CDLL(libc_name)
        if not libc.mallopt(_M_MMAP_THRESHOLD, _MIB):
            log.warning("mallopt(M_MMAP_THRESHOLD) was refused")
    except (OSError, AttributeError):
        log.info("not glibc: leaving the allocator as it is")
