"""Data sources: local files, class folders, Hugging Face datasets; columns and read errors.

`sources` says what a path or name is, `loaders` loads it into a `datasets.Dataset`, `columns`
finds and validates its text and label columns, `read_errors` explains why a file could not be
read. The names below are re-exported lazily, so that importing one light module of this package
(`textcnn.data.sources`) does not import `datasets`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textcnn.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from textcnn.data.columns import (
        LABEL,
        TEXT,
        check_one_label_per_row,
        drop_or_reject_bad_rows,
        select_columns,
        stratified_split,
        value_as_text,
    )
    from textcnn.data.loaders import (
        SPLIT_HINT,
        load_class_folders,
        load_data_folder,
        load_file,
        load_hub_dataset,
        load_saved_dataset,
        load_source,
        warn_if_quotes_joined_lines,
        without_bom,
    )
    from textcnn.data.read_errors import explain_read_error
    from textcnn.data.sources import (
        BAD_ROW_POLICIES,
        COMPRESSIONS,
        FILE_BUILDERS,
        QUOTING,
        check_quoting,
        check_source_options,
        data_suffix,
        open_binary,
        quoting_applies,
        source_kind,
    )

__all__ = [
    "BAD_ROW_POLICIES",
    "COMPRESSIONS",
    "FILE_BUILDERS",
    "LABEL",
    "QUOTING",
    "SPLIT_HINT",
    "TEXT",
    "check_one_label_per_row",
    "check_quoting",
    "check_source_options",
    "data_suffix",
    "drop_or_reject_bad_rows",
    "explain_read_error",
    "load_class_folders",
    "load_data_folder",
    "load_file",
    "load_hub_dataset",
    "load_saved_dataset",
    "load_source",
    "open_binary",
    "quoting_applies",
    "select_columns",
    "source_kind",
    "stratified_split",
    "value_as_text",
    "warn_if_quotes_joined_lines",
    "without_bom",
]

#: Each re-exported name -> the module defining it.
_MODULE_OF = {
    "LABEL": "textcnn.data.columns",
    "TEXT": "textcnn.data.columns",
    "check_one_label_per_row": "textcnn.data.columns",
    "drop_or_reject_bad_rows": "textcnn.data.columns",
    "select_columns": "textcnn.data.columns",
    "stratified_split": "textcnn.data.columns",
    "value_as_text": "textcnn.data.columns",
    "SPLIT_HINT": "textcnn.data.loaders",
    "load_class_folders": "textcnn.data.loaders",
    "load_data_folder": "textcnn.data.loaders",
    "load_file": "textcnn.data.loaders",
    "load_hub_dataset": "textcnn.data.loaders",
    "load_saved_dataset": "textcnn.data.loaders",
    "load_source": "textcnn.data.loaders",
    "warn_if_quotes_joined_lines": "textcnn.data.loaders",
    "without_bom": "textcnn.data.loaders",
    "explain_read_error": "textcnn.data.read_errors",
    "BAD_ROW_POLICIES": "textcnn.data.sources",
    "COMPRESSIONS": "textcnn.data.sources",
    "FILE_BUILDERS": "textcnn.data.sources",
    "QUOTING": "textcnn.data.sources",
    "check_quoting": "textcnn.data.sources",
    "check_source_options": "textcnn.data.sources",
    "data_suffix": "textcnn.data.sources",
    "open_binary": "textcnn.data.sources",
    "quoting_applies": "textcnn.data.sources",
    "source_kind": "textcnn.data.sources",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULE_OF)
