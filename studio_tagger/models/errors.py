"""The error a model file raises, without torch: the app and the command line catch it before torch loads."""

from __future__ import annotations


class ModelError(Exception):
    """A model file that is missing, corrupt or does not match its card; one-line message."""
