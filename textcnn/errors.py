"""The one exception type for problems a user can fix (bad data, bad paths, bad model folders)."""


class TextCNNError(ValueError):
    """A user-facing error whose message is one line saying what is wrong and how to fix it.

    The CLI prints it as `Error: <message>` and exits with status 1, without a traceback. A
    `ValueError`, as scikit-learn expects of an estimator refusing its data or parameters (a single
    class, a size below one): code that catches `ValueError` around `fit` catches it too.
    """
