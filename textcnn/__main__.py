"""Allow `python -m textcnn` (the same as `python -m textcnn.cli` and the `textcnn` command)."""

from textcnn.cli import main

if __name__ == "__main__":
    main()
