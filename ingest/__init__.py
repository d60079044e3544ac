"""The offline half of ragqa: documents → text → chunks → embeddings in an index directory."""
