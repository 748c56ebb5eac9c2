"""`python -m scripts.bench`: the benchmark's command line (see `scripts.bench.cli`)."""

import sys

from scripts.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
