"""The formats and chunk size batch prediction reads and writes, in a module that imports nothing,
so that the CLI lists them in its help without importing pyarrow or torch."""

from __future__ import annotations

#: Input format -> its file suffix (for csv, tsv and parquet, the one whose `datasets` builder reads it).
INPUT_FORMATS = {"txt": ".txt", "csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}
OUTPUT_FORMATS = ("jsonl", "csv", "tsv", "parquet")
#: Rows read, tokenised and sorted together; large enough for well-filled length buckets, small
#: enough that a few chunks in flight take little memory.
CHUNK_ROWS = 8192
