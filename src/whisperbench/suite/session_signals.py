"""SIGTERM and SIGHUP (what CI runners, ``timeout``, container stops and a closed terminal send)
handled as Ctrl-C is: the first one raises ``Terminated`` (a ``KeyboardInterrupt``) in the
main thread, so that pytest ends the session as interrupted and the finished cases are saved
as an incomplete run. From the moment the session saves (``defer``), a signal, Ctrl-C too, no
longer interrupts: it is noted, and the session ends once its run is written.

A signal whose disposition is not the default when the session starts (``nohup`` ignores
SIGHUP; a parent may have installed its own handler) is left as it is.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

__all__ = ["SignalGuard", "Terminated"]

HANDLED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """The session was told to stop by a signal other than Ctrl-C."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} received")
        self.name = name


class SignalGuard:
    """Our handlers for one session: ``install`` at its start, ``defer`` before saving,
    ``restore`` at its end."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.raising = True
        self.deferred: list[str] = []
        """Signals that arrived once interrupting was over (while saving, or a second one)."""

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number in HANDLED:
            if signal.getsignal(number) is signal.SIG_DFL:
                self.previous[number] = signal.signal(number, self._handle)

    def defer(self) -> None:
        """From now on signals are noted, not raised: Ctrl-C (where Python's own handler is in
        place) included, so that no signal cuts a run file in the middle of saving."""
        self.raising = False
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if not self.raising:
            self.deferred.append(name)
            return
        self.raising = False  # a second signal while pytest winds down must not cut it short
        raise Terminated(name)
