"""Batch prediction: streamed readers, chunked inference, atomic writers."""
