"""Exact and near-duplicate documents: a fingerprint per text, and an index of the kept ones to match new texts against.

A fingerprint is a hash of the text's words (exact duplicates: the same words in the same order,
whatever the case, spacing, punctuation or markup symbols) and a MinHash signature of its 5-word
shingles, whose agreement estimates the Jaccard similarity of two texts' shingle sets. Banded
locality-sensitive hashing finds the candidates, so matching costs the same however many documents
are indexed. A page and its markup source (an HTML page and its reST or Markdown file) share most
shingles; two different pages of one site share only boilerplate (bench/RESULTS.md, issue 15).
"""
from __future__ import annotations

import hashlib
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 5
ROWS_PER_BAND = 3
BANDS = 42  # 42 bands of 3 rows: a pair at similarity 0.5 is a candidate with probability 0.996, at 0.2 with 0.29
PERMUTATIONS = ROWS_PER_BAND * BANDS
_WORD = re.compile(r"\w+")
# Fixed seed: signatures are stored in the index and must stay comparable between runs and versions.
_rng = np.random.default_rng(20261201)
_MULTIPLIERS = _rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
_ADDENDS = _rng.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_EMPTY = np.full(PERMUTATIONS, 2**32 - 1, dtype=np.uint32)
_NO_WORDS = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """What a text is compared by: `words_hash` for exact copies, `minhash` for near ones."""

    words_hash: str
    minhash: np.ndarray  # (PERMUTATIONS,) uint32

    def to_bytes(self) -> bytes:
        return bytes.fromhex(self.words_hash) + self.minhash.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        return cls(data[:32].hex(), np.frombuffer(data[32:], dtype="<u4").astype(np.uint32))

    def similarity(self, other: Fingerprint) -> float:
        """Estimated Jaccard similarity of the two texts' 5-word shingle sets (1.0 for exact copies)."""
        if self.words_hash == other.words_hash:
            return 1.0
        return float(np.count_nonzero(self.minhash == other.minhash)) / PERMUTATIONS


def fingerprint(text: str) -> Fingerprint:
    """The text's fingerprint: its words lowercased, everything else ignored."""
    words = _WORD.findall(text.casefold())
    words_hash = hashlib.sha256(" ".join(words).encode()).hexdigest()
    return Fingerprint(words_hash, _minhash(words))


def _minhash(words: list[str]) -> np.ndarray:
    if not words:
        return _EMPTY.copy()
    ids = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    width = min(SHINGLE_WORDS, len(ids))
    count = len(ids) - width + 1
    with np.errstate(over="ignore"):  # the hashing below relies on wrapping 64-bit arithmetic
        shingles = np.zeros(count, dtype=np.uint64)
        for j in range(width):
            shingles = shingles * np.uint64(0x100000001B3) + ids[j:j + count]
        shingles = np.unique(shingles)
        lowest = np.full(PERMUTATIONS, 2**64 - 1, dtype=np.uint64)
        for start in range(0, len(shingles), 2048):  # bounded memory: 2048 x PERMUTATIONS at a time
            block = shingles[start:start + 2048, None]
            # Multiply-shift hashing, one function per permutation; the top 32 bits are the hash.
            np.minimum(lowest, ((block * _MULTIPLIERS + _ADDENDS) >> np.uint64(32)).min(axis=0), out=lowest)
    return lowest.astype(np.uint32)


@dataclass(frozen=True)
class Match:
    """The kept document a text duplicates, and how closely."""

    source: str
    similarity: float

    @property
    def exact(self) -> bool:
        return self.similarity >= 1.0

    def reason(self) -> str:
        if self.exact:
            return f"duplicate of {self.source} (the same text)"
        return f"near duplicate of {self.source} ({self.similarity:.0%} similar); that copy is indexed"


class DuplicateIndex:
    """The fingerprints of the documents kept so far; finds the closest one at or above `threshold`."""

    def __init__(self, threshold: float) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"duplicate similarity threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._by_content: dict[str, str] = {}  # content hash of the file's bytes -> source
        self._by_words: dict[str, str] = {}
        self._fingerprints: dict[str, Fingerprint] = {}
        self._bands: dict[tuple[int, bytes], list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._fingerprints)

    def add(self, source: str, content_hash: str, fp: Fingerprint) -> None:
        self._by_content.setdefault(content_hash, source)
        if fp.words_hash != _NO_WORDS:
            self._by_words.setdefault(fp.words_hash, source)
        self._fingerprints[source] = fp
        for band, key in enumerate(_band_keys(fp)):
            self._bands[(band, key)].append(source)

    def same_bytes(self, content_hash: str) -> Match | None:
        """A kept document with exactly these bytes (known before the file is even parsed)."""
        source = self._by_content.get(content_hash)
        return Match(source, 1.0) if source is not None else None

    def match(self, fp: Fingerprint) -> Match | None:
        """The kept document most similar to `fp`, if it is at least `threshold` similar."""
        if fp.words_hash == _NO_WORDS:  # nothing to compare (symbols only)
            return None
        if (source := self._by_words.get(fp.words_hash)) is not None:
            return Match(source, 1.0)
        candidates = {s for band, key in enumerate(_band_keys(fp)) for s in self._bands.get((band, key), ())}
        best: Match | None = None
        for source in sorted(candidates):
            similarity = fp.similarity(self._fingerprints[source])
            if similarity >= self.threshold and (best is None or similarity > best.similarity):
                best = Match(source, similarity)
        return best


def _band_keys(fp: Fingerprint) -> list[bytes]:
    rows = fp.minhash.reshape(BANDS, ROWS_PER_BAND)
    return [row.tobytes() for row in rows]
