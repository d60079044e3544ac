"""The `ragqa` command: ingest, serve, ask and eval from a terminal."""
