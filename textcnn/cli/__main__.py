"""Allow `python -m textcnn.cli` (and `torchrun -m textcnn.cli`)."""

from textcnn.cli.main import cli

if __name__ == "__main__":
    cli()
