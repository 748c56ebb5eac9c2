"""One-line explanations of why a data file could not be read: its encoding (with the line and
byte at fault), an unclosed quote, or the parser's own first line."""

from __future__ import annotations

import codecs
from pathlib import Path

from textcnn.data.sources import open_binary
from textcnn.errors import first_line


def explain_read_error(path: Path, error: BaseException, encoding: str) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UnicodeDecodeError):
            return not_decodable(path, encoding)
        cause = cause.__cause__ or cause.__context__
    if "corresponds to no data" in str(error):
        return f"{path} has no data rows"
    reason = first_line(innermost_cause(error))
    if "EOF inside string" in reason:
        reason += (
            " (a field opens a quote mark that never closes: CSV and TSV fields are read with CSV quoting, so a text "
            'that starts with " must be quoted whole, with its inner quotes doubled; if no field is quoted, '
            'pass `quoting="none"`)'
        )
    return f"could not read {path}: {reason}"


def innermost_cause(error: BaseException) -> BaseException:
    """The exception at the bottom of a chain: `datasets` wraps every parser error in a generic
    "An error occurred while generating the dataset", while the cause names the line and problem."""
    seen = {id(error)}
    while (cause := error.__cause__ or error.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        error = cause
    return error


def not_decodable(path: Path, encoding: str) -> str:
    where = _find_undecodable(path, encoding)
    return (
        f"{path} is not valid {encoding}{': ' + where if where else ''}; "
        'pass the file\'s encoding with `encoding` (e.g. `encoding="latin-1"`)'
    )


def _find_undecodable(path: Path, encoding: str) -> str | None:
    """'line L, byte B (0xXX)' of the first byte `encoding` cannot decode, read line by line.

    Only for encodings where a newline is the single byte 0x0A (UTF-8, Latin-1, cp125x, ...), so
    that lines can be decoded one at a time; otherwise None.
    """
    try:
        if codecs.encode("\n", encoding) != b"\n":
            return None
    except LookupError:
        return None
    try:
        with open_binary(path) as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError as error:
                    return f"line {number}, byte {error.start + 1} (0x{line[error.start]:02x})"
    except OSError:
        return None
    return None
