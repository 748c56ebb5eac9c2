"""Allow `python -m textcnn.cli` (and `torchrun -m textcnn.cli`)."""

from textcnn.cli import main

if __name__ == "__main__":
    main()
