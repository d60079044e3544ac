"""Quality and speed benchmarks, run by command, never by the test suite."""
