"""The shared error helpers: `first_line` quoting a third-party error in a one-line message."""

from __future__ import annotations

from textcnn.errors import first_line


def test_first_line_keeps_the_first_non_blank_line_or_names_the_type() -> None:
    assert first_line(RuntimeError("\n  size mismatch for fc.weight\n  copying a param of shape ...")) == (
        "size mismatch for fc.weight"
    )
    assert first_line(KeyError()) == "KeyError"
    assert first_line(ValueError("   ")) == "ValueError"
