"""Training: the loop, early stopping and averaging, refit, checkpoints, interruption, run lock."""
