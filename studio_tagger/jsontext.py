"""JSON text for the files the project writes: valid UTF-8 whatever the file names it holds."""

from __future__ import annotations

import json
from typing import Any


def json_text(obj: Any, **options: Any) -> str:
    """``json.dumps`` with non-ASCII text kept readable (a Japanese name stays Japanese), unless some string
    holds a file name that is not UTF-8 (Python keeps its odd bytes as lone surrogates): then everything is
    escaped, so the file stays valid UTF-8 for every reader and Python's ``json`` reads the same name back."""
    text = json.dumps(obj, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, **options)
    return text
