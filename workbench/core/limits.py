"""Process limits the workbench raises at start.

Issue 7, "One file descriptor per socket": "At start, the program raises its soft
``RLIMIT_NOFILE`` to the hard limit." Desktops often start programs with a soft limit of
1,024 descriptors and a hard limit far above it; ten thousand sockets need the hard one.
"""

from __future__ import annotations

__all__ = ["FD_LIMIT_CAP", "raise_fd_limit"]

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
