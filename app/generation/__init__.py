"""Language models behind one protocol: local (transformers, int8) or remote (OpenAI-compatible), and the queue before them."""
