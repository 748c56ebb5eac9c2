"""Allow `python -m textcnn` (the same as `python -m textcnn.cli` and the `textcnn` command)."""

from textcnn.cli.main import cli

if __name__ == "__main__":
    cli()
