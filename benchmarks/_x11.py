"""When a program's window appears on an X server, seen from another X client (ctypes, Xlib).

``startup.py`` times programs it cannot change (Packet Sender), so the moment is taken from
the X server, the same way for every program:

- **mapped**: the ``MapNotify`` of the program's first top-level window (a child of the root
  window, not override-redirect: no tooltip or popup) at least ``MIN_SIZE`` pixels each way.
  There is no window manager under Xvfb, so top-level windows are the root's own children and
  ``SubstructureNotifyMask`` on the root sees them all.
- **painted**: the first ``DamageNotify`` (the DAMAGE extension) on that window after it was
  mapped: the program drew its first frame into it. Damage is requested when the window is
  created, before it is mapped, so no frame can slip past.

Needs ``libX11.so.6`` (Debian: libx11-6) and, for *painted*, ``libXdamage.so.1``
(libxdamage1); without it, or without the extension, *painted* is the moment of mapping and
``WindowWatcher.damage`` is False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import selectors
import time
from dataclasses import dataclass

MIN_SIZE = 100  # pixels: Qt's own helper windows are 1 by 1 and never mapped anyway

_SUBSTRUCTURE_NOTIFY_MASK = 1 << 19
_CREATE_NOTIFY = 16
_MAP_NOTIFY = 19
_DAMAGE_REPORT_NON_EMPTY = 3  # XDamageReportNonEmpty: one event when the damage becomes non-empty


class _XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("pad", ctypes.c_long * 24)]


class _XCreateWindowEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("parent", ctypes.c_ulong),
        ("window", ctypes.c_ulong),
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("override_redirect", ctypes.c_int),
    ]


class _XMapEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("event", ctypes.c_ulong),
        ("window", ctypes.c_ulong),
        ("override_redirect", ctypes.c_int),
    ]


class _XDamageNotifyEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("drawable", ctypes.c_ulong),
        ("damage", ctypes.c_ulong),
    ]


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("rest", ctypes.c_long * 32),  # the struct's tail, not read
    ]


class X11Error(RuntimeError):
    pass


def _load(name: str, soname: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(soname)
    except OSError:
        found = ctypes.util.find_library(name)
        if found is None:
            raise X11Error(f"{soname} is missing") from None
        return ctypes.CDLL(found)


@dataclass
class WindowTimes:
    """Seconds on ``time.perf_counter``'s clock."""

    mapped: float
    painted: float
    width: int
    height: int


class WindowWatcher:
    """One connection to the X server ``display``, watching for new top-level windows."""

    def __init__(self, display: str) -> None:
        x11 = _load("X11", "libX11.so.6")
        try:
            damage: ctypes.CDLL | None = _load("Xdamage", "libXdamage.so.1")
        except X11Error:
            damage = None
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        for fn in ("XDefaultRootWindow",):
            getattr(x11, fn).restype = ctypes.c_ulong
            getattr(x11, fn).argtypes = [ctypes.c_void_p]
        x11.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
        x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(_XEvent)]
        x11.XPending.argtypes = [ctypes.c_void_p]
        x11.XFlush.argtypes = [ctypes.c_void_p]
        x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x11.XGetWindowAttributes.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.POINTER(_XWindowAttributes),
        ]
        x11.XSetErrorHandler.argtypes = [ctypes.c_void_p]
        if damage is not None:
            damage.XDamageQueryExtension.argtypes = [
                ctypes.c_void_p,
                ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_int),
            ]
            damage.XDamageCreate.restype = ctypes.c_ulong
            damage.XDamageCreate.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int]
        self._x11 = x11
        # A window can vanish between its CreateNotify and our requests on it (BadWindow):
        # Xlib's default handler would exit this process, so errors are ignored instead.
        self._error_handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
            lambda _d, _e: 0
        )
        x11.XSetErrorHandler(ctypes.cast(self._error_handler, ctypes.c_void_p))
        dpy = x11.XOpenDisplay(display.encode())
        if not dpy:
            raise X11Error(f"cannot open X display {display}")
        self._dpy = dpy
        event_base, error_base = ctypes.c_int(), ctypes.c_int()
        if damage is not None and not damage.XDamageQueryExtension(
            dpy, ctypes.byref(event_base), ctypes.byref(error_base)
        ):
            damage = None
        self._damage = damage
        #: Whether *painted* is the first frame (True) or only the moment of mapping.
        self.damage = damage is not None
        self._damage_notify = event_base.value  # + XDamageNotify (0)
        root = x11.XDefaultRootWindow(dpy)
        x11.XSelectInput(dpy, root, _SUBSTRUCTURE_NOTIFY_MASK)
        x11.XSync(dpy, 0)
        self._selector = selectors.DefaultSelector()
        self._selector.register(x11.XConnectionNumber(dpy), selectors.EVENT_READ)

    def close(self) -> None:
        self._selector.close()
        self._x11.XCloseDisplay(self._dpy)

    def drain(self) -> None:
        """Forget every event so far (the previous program's)."""
        self._x11.XSync(self._dpy, 0)
        event = _XEvent()
        while self._x11.XPending(self._dpy):
            self._x11.XNextEvent(self._dpy, ctypes.byref(event))

    def wait_for_window(self, timeout: float) -> WindowTimes | None:
        """The first large top-level window mapped from now on, and its first frame."""
        x11 = self._x11
        event = _XEvent()
        deadline = time.perf_counter() + timeout
        watched: set[int] = set()
        mapped: tuple[int, float, int, int] | None = None
        while True:
            while x11.XPending(self._dpy):
                x11.XNextEvent(self._dpy, ctypes.byref(event))
                now = time.perf_counter()
                if event.type == _CREATE_NOTIFY:
                    created = ctypes.cast(ctypes.byref(event), ctypes.POINTER(_XCreateWindowEvent))
                    if not created.contents.override_redirect:
                        window = created.contents.window
                        if self._damage is not None:
                            self._damage.XDamageCreate(self._dpy, window, _DAMAGE_REPORT_NON_EMPTY)
                            x11.XFlush(self._dpy)
                        watched.add(window)
                elif event.type == _MAP_NOTIFY and mapped is None:
                    shown = ctypes.cast(ctypes.byref(event), ctypes.POINTER(_XMapEvent))
                    window = shown.contents.window
                    if shown.contents.override_redirect or window not in watched:
                        continue
                    attrs = _XWindowAttributes()
                    if not x11.XGetWindowAttributes(self._dpy, window, ctypes.byref(attrs)):
                        continue
                    if attrs.width >= MIN_SIZE and attrs.height >= MIN_SIZE:
                        mapped = (window, now, attrs.width, attrs.height)
                        if self._damage is None:
                            return WindowTimes(now, now, attrs.width, attrs.height)
                elif event.type == self._damage_notify and mapped is not None:
                    damaged = ctypes.cast(ctypes.byref(event), ctypes.POINTER(_XDamageNotifyEvent))
                    if damaged.contents.drawable == mapped[0]:
                        return WindowTimes(mapped[1], now, mapped[2], mapped[3])
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            self._selector.select(remaining)
