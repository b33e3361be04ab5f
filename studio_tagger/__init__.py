"""studio-tagger: find where each instrument plays in long recordings."""

__version__ = "0.1.0"
