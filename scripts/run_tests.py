"""Run the test suite; unlike bare pytest, "no tests collected" (exit code 5) is a failure."""

from __future__ import annotations

import sys

import pytest

NO_TESTS_COLLECTED = 5

if __name__ == "__main__":
    code = pytest.main(["-q", *sys.argv[1:]])
    if code == NO_TESTS_COLLECTED:
        print("error: no tests were collected", file=sys.stderr)
        code = 1
    sys.exit(int(code))
