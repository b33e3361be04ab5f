"""Errors as users read them: one line, whatever the exception held."""

from __future__ import annotations


def one_line(exc: BaseException, limit: int = 400) -> str:
    """The exception's message on one line (its type's name when it has none), cut to ``limit`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
