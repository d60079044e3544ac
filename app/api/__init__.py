"""The HTTP surface: routes, streaming, the OpenAI-compatible API, documents, metrics, the page and middleware."""
