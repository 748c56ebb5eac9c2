"""The one exception type for problems a user can fix (bad data, bad paths, bad model folders)."""


class TextCNNError(ValueError):
    """A user-facing error whose message is one line saying what is wrong and how to fix it.

    The CLI prints it as `Error: <message>` and exits with status 1, without a traceback. A
    `ValueError`, as scikit-learn expects of an estimator refusing its data or parameters (a single
    class, a size below one): code that catches `ValueError` around `fit` catches it too.
    """


def first_line(error: BaseException) -> str:
    """The first non-blank line of an error's message, or its type's name when the message is empty.

    For a one-line `TextCNNError` that quotes a third-party error: parsers and torch put details
    (tracebacks of their own, tables of mismatched keys) on the lines after the first.
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
