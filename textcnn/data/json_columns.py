"""Columns of JSON-lines input that Arrow cannot type without changing their values.

Arrow gives a column one type. A JSON-lines column that mixes types (`7` in one row, `"x"` in the
next), holds ints and floats (`1` would become `1.0`), objects (missing keys would be added as
null) or lists is therefore carried as a string column of each value's JSON, marked in the
field's metadata. Writers decode it: JSON lines get every value back exactly as it was read,
CSV/TSV/Parquet get its text (strings as they are, other values as JSON). The column's values
never depend on which other rows share its chunk.

A key that some rows lack is a JSON column too, where a row without the key holds Arrow's null
and a row with `null` holds the text "null": JSON lines out then leave the key out where the
input did, whichever rows share a chunk.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

_MARK = {b"textcnn.values": b"json"}
_PLAIN_TYPES = (str, bool, int, float)


#: A row that does not have the key at all (in `column_from_values`'s `values`).
ABSENT = object()


def column_from_values(name: str, values: list[Any]) -> tuple[pa.Field, pa.Array]:
    """A natively typed column when every row has the key and every non-null value has one plain
    type, else a JSON column. `values` holds `ABSENT` for a row without the key."""
    if any(value is ABSENT for value in values):
        encoded = [None if value is ABSENT else json.dumps(value, ensure_ascii=False) for value in values]
        return json_column(name, encoded)
    types = {type(value) for value in values if value is not None}
    if len(types) <= 1 and types <= set(_PLAIN_TYPES):
        try:
            array = pa.array(values)
            return pa.field(name, array.type), array
        except (OverflowError, pa.ArrowInvalid):  # an int beyond 64 bits
            pass
    encoded = [json.dumps(value, ensure_ascii=False) for value in values]
    return json_column(name, encoded)


def json_column(name: str, encoded: list[str | None]) -> tuple[pa.Field, pa.Array]:
    """A JSON column from each row's JSON text (None: the row lacks the key)."""
    return pa.field(name, pa.string(), metadata=_MARK), pa.array(encoded, pa.string())


def is_json_column(field: pa.Field) -> bool:
    return field.metadata is not None and field.metadata.get(b"textcnn.values") == b"json"


def decoded_values(field: pa.Field, column: pa.Array | pa.ChunkedArray, absent: Any = None) -> list[Any]:
    """The column's values as Python objects, as they were in the input; `absent` for a row of a
    JSON column without the key."""
    values = column.to_pylist()
    if not is_json_column(field):
        return values
    return [absent if value is None else json.loads(value) for value in values]
