"""Connecting a widget to an evented part of :mod:`app.model` for the widget's lifetime."""

from __future__ import annotations


def bind(signal, slot, owner) -> None:
    """Connect the psygnal ``signal`` to ``slot`` until the QObject ``owner`` is destroyed
    (psygnal holds ``slot`` weakly; this also drops it when Qt deletes the C++ object first)."""
    signal.connect(slot)
    owner.destroyed.connect(lambda *_: signal.disconnect(slot, missing_ok=True))
