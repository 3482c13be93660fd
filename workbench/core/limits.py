"""Process limits and settings the workbench applies at start.

Issue 7, "One file descriptor per socket": "At start, the program raises its soft
``RLIMIT_NOFILE`` to the hard limit." Desktops often start programs with a soft limit of
1,024 descriptors and a hard limit far above it; ten thousand sockets need the hard one.

The same issue wants the loop's lateness under 50 ms at the 99th percentile with ten thousand
sockets: the garbage collector's thresholds (``tune_gc``) serve that.
"""

from __future__ import annotations

import gc

__all__ = ["FD_LIMIT_CAP", "GC_THRESHOLDS", "raise_fd_limit", "tune_gc"]

#: The collector's thresholds for the window (CPython's default is (700, 10, 10)).
#:
#: With ten thousand sockets the heap holds about a million objects, and a full collection
#: walks them all: 80-180 ms during which the window does not move, measured in
#: ``benchmarks/window_scale.py``, where they made the loop's lateness miss 50 ms at the 99th
#: percentile (54-57 ms). They find nothing to free there ("collected 0"): the heap grows with
#: live sockets, not with garbage, and CPython starts a full collection whenever the objects
#: that survived grew by a quarter. A young generation of 5,000 objects (a collection of it
#: takes about a millisecond) and a full collection only every 100 middle ones cut those
#: pauses to none above 50 ms in the same run (p99 31-34 ms). Cyclic garbage waits longer to
#: be freed; the receive path makes none (its chunks are freed by reference counting).
GC_THRESHOLDS = (5000, 10, 100)

#: The most descriptors asked for when the hard limit is infinite (or above it): Linux's
#: default ``fs.nr_open``, and far beyond what ten thousand sockets need.
FD_LIMIT_CAP = 1 << 20


def raise_fd_limit(cap: int = FD_LIMIT_CAP) -> tuple[int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit, at most ``cap``; ``(old, new)``.

    Never lowers the limit. Returns the soft limit before and after (``resource.RLIM_INFINITY``
    where it is unlimited); ``(old, old)`` when the system refuses (macOS refuses more than
    ``kern.maxfilesperproc``, whatever the hard limit says). Where there is no ``resource``
    module (Windows, which has no such limit), does nothing and returns ``(-1, -1)``.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return (-1, -1)
    infinity = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = cap if hard == infinity else min(hard, cap)
    if soft != infinity and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return (soft, soft)
        return (soft, target)
    return (soft, soft)


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> tuple[int, int, int]:
    """Set the garbage collector's thresholds (see ``GC_THRESHOLDS``); returns the old ones."""
    old = gc.get_threshold()
    gc.set_threshold(*thresholds)
    return (old[0], old[1], old[2])
