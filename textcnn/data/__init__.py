"""Data sources: local files, class folders, Hugging Face datasets; columns and read errors."""
