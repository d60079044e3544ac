"""Errors of the index that callers turn into clear CLI messages or HTTP statuses."""


class IndexStoreError(Exception):
    """Base for errors of the index directory."""


class IndexNotFoundError(IndexStoreError):
    """The index directory holds no finished index yet."""


class IndexMismatchError(IndexStoreError):
    """The index was built with another embedding model or dimension than the one configured."""
