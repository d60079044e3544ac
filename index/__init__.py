"""What ingest writes and the service reads: the chunk store, the vectors, and retrieval."""
