"""Errors raised by marker exports and imports; ``str(e)`` is always one line for the user."""

from __future__ import annotations


class InterchangeError(Exception):
    """Base of the errors below."""


class ExportError(InterchangeError):
    """An export cannot be made from what it was given (unknown format, bad template, no audio...)."""


class MarkerFileError(InterchangeError):
    """A marker file to import is not in the expected layout; the message names the file and line."""


class ExportCancelled(InterchangeError):
    """The caller's ``should_cancel`` asked to stop; nothing was written."""
