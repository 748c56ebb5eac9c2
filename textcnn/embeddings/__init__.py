"""Embeddings: pretrained word vectors, in-domain word2vec, and where a model's weights start."""
