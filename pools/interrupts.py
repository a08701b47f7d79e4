"""SIGINT and SIGTERM as an exception that never cuts a pool transaction in half.

A worker turns both signals into :class:`Interrupted` so that its job goes back to the queue. Raised at
an arbitrary point, the exception could land inside a database call: between SQLite's ``BEGIN
IMMEDIATE`` and the ``try`` that rolls it back, or inside SQLAlchemy's connection-pool lock, leaving the
write lock held so that the requeue (and every other worker) then waits on it. Inside
:func:`uninterrupted` the signal is remembered instead and raised when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(BaseException):
    """SIGINT or SIGTERM in a ``nas`` process (:func:`interrupt_on_signals`). Not a KeyboardInterrupt on
    purpose: CPython reports a KeyboardInterrupt that passed through some library code as a SIGINT exit
    status even after it was handled (seen under load: exit -2 instead of 130)."""


INTERRUPTS = (KeyboardInterrupt, Interrupted)

_depth = 0  # open uninterrupted() blocks of the main thread (signal handlers run in the main thread)
_pending: str | None = None  # the signal that arrived inside one


def _raise_interrupted(signum: int, _frame: object) -> None:
    global _pending
    name = signal.Signals(signum).name
    if _depth:
        _pending = name
        return
    raise Interrupted(name)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Defer an :class:`Interrupted` from a signal that arrives inside the block to the block's end."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are delivered to the main thread only
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            name, _pending = _pending, None
            raise Interrupted(name)


def interrupt_on_signals() -> dict[int, Any]:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` (main thread only); returns the old handlers."""
    return {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
