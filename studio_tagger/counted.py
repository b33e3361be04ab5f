"""Counts in messages: "1 region", "3 regions" (every noun the program counts takes a plain -s)."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
