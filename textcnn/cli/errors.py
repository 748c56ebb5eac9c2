"""Library messages in the CLI's words: the Python parameters they name become the flags that set them.

Library errors (and warnings) name a parameter in backticks, as a Python caller passes it:
`` `init_from` `` or `` `quoting="none"` ``. The CLI prints them with `--init-from` and
`--quoting none` instead. A backticked name that is no parameter of a command is left as it is.
"""

from __future__ import annotations

import logging
import re

#: Python parameter -> the flag of a command that sets it.
PARAMETER_FLAGS = {
    "calibrate": "--calibrate",
    "class_weight": "--class-weight",
    "dataset_config": "--dataset-config",
    "device": "--device",
    "embedding_dim": "--embedding-dim",
    "embedding_mode": "--embedding-mode",
    "encoding": "--encoding",
    "engine": "--engine",
    "freeze_features": "--freeze-features",
    "init_from": "--init-from",
    "input_format": "--input-format",
    "keep_all": "--keep-all",
    "keep_columns": "--keep-columns",
    "label_column": "--label-column",
    "min_count": "--min-count",
    "num_threads": "--num-threads",
    "on_bad_rows": "--on-bad-rows",
    "out": "--out",
    "output": "--output",
    "output_format": "--output-format",
    "output_path": "--output",
    "overwrite": "--overwrite",
    "quantize": "--quantize",
    "quoting": "--quoting",
    "resume": "--resume",
    "select_metric": "--select-metric",
    "split": "--split",
    "text_column": "--text-column",
    "tokenizer": "--tokenizer",
    "top_k": "--top-k",
    "vectors": "--vectors",
}

#: Python keyword arguments whose CLI equivalent is another flag: a run that starts over instead of
#: resuming its checkpoint (`resume=False`) needs `--overwrite` in the CLI, which refuses to replace
#: a checkpoint without it.
KEYWORD_FLAGS = {"resume=False": "--overwrite"}

_PARAMETER = re.compile(r"`(?P<name>[A-Za-z_]\w*)(?:=(?P<value>[^`]*))?`")


def as_flags(message: str) -> str:
    """`message` with each backticked parameter (and its value, if given) written as its flag."""

    def replace(match: re.Match[str]) -> str:
        if match[0][1:-1] in KEYWORD_FLAGS:
            return KEYWORD_FLAGS[match[0][1:-1]]
        flag = PARAMETER_FLAGS.get(match["name"])
        if flag is None:
            return match[0]
        value = match["value"]
        if value is None or value == "True":
            return flag
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return f"{flag} {value}"

    return _PARAMETER.sub(replace, message)


class FlagsInMessages(logging.Filter):
    """A handler filter that words textcnn's log messages (warnings with advice) with the CLI's flags."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("textcnn"):
            message = record.getMessage()
            flagged = as_flags(message)
            if flagged != message:
                record.msg, record.args = flagged, None
        return True
