"""Errors raised by the engine. ``nava_director`` turns them into user-facing messages."""

from __future__ import annotations


class EngineError(Exception):
    """A problem inside the engine that the caller can act on; ``hint`` says how."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class WeightsError(EngineError):
    """A weight file is missing, unreadable, or not the component it claims to be."""


class VoiceError(EngineError):
    """A reference voice that cannot be turned into a speaker embedding."""
