"""The error the benchmark reports as one line, without importing textcnn (hence torch) up front."""

from __future__ import annotations


def user_error(message: str) -> Exception:
    """A TextCNNError, imported only when needed (a baseline's worker never loads torch)."""
    from textcnn.errors import TextCNNError

    return TextCNNError(message)
