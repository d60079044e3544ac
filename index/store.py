"""SQLite chunk store: documents (the manifest), chunks with offsets and embeddings, and FTS5 keywords.

SQLite is the source of truth. Each document's change is one transaction that also bumps the
index `generation`; the FAISS file is a cache of the `embedding` column that is reconciled with
this table on open, so a crash between the two never leaves them disagreeing for a reader.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from core.text import STOPWORDS, words_of
from index.sentence_vectors import from_bytes, to_bytes
from index.types import Chunk, Document, Hit

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
-- AUTOINCREMENT: a chunk id is never reused, so a stale FAISS id can never point at a new chunk.
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
-- What ingest compares new documents with to skip duplicates (ingest/duplicates.py); a document
-- indexed before this table existed has none until a run computes it from its text.
CREATE TABLE IF NOT EXISTS document_fingerprints (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    fingerprint BLOB NOT NULL
);
-- Each chunk's prose sentences embedded on their own (index/sentence_vectors.py): float16 (n, dimension),
-- n may be 0. Used by retrieval only while meta 'sentence_vectors' is '1' (every chunk has its row).
CREATE TABLE IF NOT EXISTS sentence_vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    vectors BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""

# Chunks ranked per keyword query at most: BM25 costs 5-15 µs per matching chunk (bench.scale).
KEYWORD_CANDIDATES = 1000
@dataclass(frozen=True)
class KeywordMatches:
    """A keyword search's ranking, with what it learnt about the query's words on the way."""

    ranked: list[tuple[int, float]]  # (chunk_id, BM25 score), best first, higher is better
    # Query word (stopwords dropped) -> chunks holding it, counted up to KEYWORD_CANDIDATES + 1.
    document_frequency: dict[str, int] = field(default_factory=dict)
    chunks: int = 0  # chunks in the index


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ChunkStore:
    """Documents and chunks in one SQLite file (WAL), opened for reading or writing."""

    def __init__(self, path: Path, *, readonly: bool = False, snapshot: bool = False) -> None:
        """`snapshot`: hold one read transaction for the connection's life, so every read sees the
        index as it was when opened, whatever a concurrent ingest commits meanwhile (WAL readers never block it)."""
        self.path = path
        self._counted: tuple[int, int] | None = None  # (generation, chunks) for keyword_matches
        if readonly:
            uri = f"file:{path}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(path, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.row_factory = sqlite3.Row
        if snapshot:
            self.db.execute("BEGIN")
            self.db.execute("SELECT COUNT(*) FROM meta").fetchone()  # the snapshot starts at the first read

    def close(self) -> None:
        self.db.close()

    # --- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped by every committed change; readers compare it to notice new content."""
        return int(self.get_meta("generation") or 0)

    @staticmethod
    def current_generation(path: Path) -> int:
        """The committed generation of the store at `path`, read with a short-lived connection."""
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            return int(row[0]) if row else 0
        finally:
            db.close()

    def _bump_generation(self) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # --- writes: one transaction per document -----------------------------------------------
    def replace_document(
        self,
        source: str,
        content_hash: str,
        size: int,
        text: str,
        metadata: dict,
        chunks: Sequence[Chunk],
        embeddings: np.ndarray,  # (len(chunks), dim) float32
        fingerprint: bytes | None = None,
        sentence_vectors: Sequence[np.ndarray] | None = None,  # per chunk, (n, dim)
    ) -> tuple[list[int], list[int]]:
        """Insert or replace one document and its chunks atomically. Returns (removed ids, new ids)."""
        if len(chunks) != len(embeddings):
            raise ValueError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
        if sentence_vectors is not None and len(sentence_vectors) != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but sentence vectors for {len(sentence_vectors)}")
        with self.db:  # one transaction: all of this document's change, or none of it
            removed = self._delete_document(source)
            cur = self.db.execute(
                "INSERT INTO documents(source, content_hash, size, ingested_at, text, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (source, content_hash, size, _now(), text, json.dumps(metadata)),
            )
            doc_id = cur.lastrowid
            if fingerprint is not None:
                self.db.execute("INSERT INTO document_fingerprints(document_id, fingerprint) VALUES (?, ?)",
                                (doc_id, fingerprint))
            new_ids = []
            for ordinal, (chunk, vector) in enumerate(zip(chunks, embeddings)):
                cur = self.db.execute(
                    "INSERT INTO chunks(document_id, ordinal, start, end, text, metadata, embedding) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (doc_id, ordinal, chunk.start, chunk.end, chunk.text, json.dumps(chunk.metadata),
                     np.asarray(vector, dtype=np.float32).tobytes()),
                )
                new_ids.append(cur.lastrowid)
            if sentence_vectors is not None:
                self._insert_sentence_vectors(zip(new_ids, sentence_vectors))
            self._bump_generation()
        return removed, new_ids

    def _insert_sentence_vectors(self, rows: Iterable[tuple[int, np.ndarray]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO sentence_vectors(chunk_id, vectors) VALUES (?, ?)",
                            ((chunk_id, to_bytes(vectors)) for chunk_id, vectors in rows))

    def add_sentence_vectors(self, rows: Sequence[tuple[int, np.ndarray]], complete: bool) -> None:
        """Store sentence vectors of chunks that have none yet; `complete`: now every chunk has them."""
        with self.db:
            self._insert_sentence_vectors(rows)
            if complete:
                self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('sentence_vectors', '1')")
                self._bump_generation()  # readers rank with them from now on

    def forget_sentence_vectors(self) -> None:
        """Stop ranking with sentence vectors (chunks written from now on may have none)."""
        with self.db:
            if self.db.execute("DELETE FROM meta WHERE key = 'sentence_vectors'").rowcount:
                self._bump_generation()

    def has_sentence_vectors(self) -> bool:
        """Every chunk has its sentence vectors (an index built before them, or without them, has not)."""
        return self.get_meta("sentence_vectors") == "1"

    def chunks_without_sentence_vectors(self) -> list[tuple[int, str]]:
        """(chunk id, text) of the chunks whose sentences were never embedded, in id order."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT id, text FROM chunks WHERE id NOT IN (SELECT chunk_id FROM sentence_vectors) ORDER BY id")]

    def sentence_vectors(self, ids: Sequence[int], dimension: int) -> dict[int, np.ndarray]:
        """{chunk id: (n, dimension) float32} of those of `ids` that have sentence vectors."""
        found = {}
        for batch in _batches(list(ids), 900):
            marks = ",".join("?" * len(batch))
            for r in self.db.execute(f"SELECT chunk_id, vectors FROM sentence_vectors WHERE chunk_id IN ({marks})", batch):
                found[r[0]] = from_bytes(r[1], dimension)
        return found

    def delete_document(self, source: str) -> list[int]:
        """Remove a document and its chunks atomically; returns the removed chunk ids."""
        with self.db:
            removed = self._delete_document(source)
            self._bump_generation()
        return removed

    def _delete_document(self, source: str) -> list[int]:
        ids = [r[0] for r in self.db.execute(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source = ?",
            (source,),
        )]
        self.db.execute("DELETE FROM sentence_vectors WHERE chunk_id IN (SELECT c.id FROM chunks c JOIN documents d "
                        "ON d.id = c.document_id WHERE d.source = ?)", (source,))
        self.db.execute("DELETE FROM chunks WHERE document_id IN (SELECT id FROM documents WHERE source = ?)", (source,))
        self.db.execute("DELETE FROM document_fingerprints WHERE document_id IN "
                        "(SELECT id FROM documents WHERE source = ?)", (source,))
        self.db.execute("DELETE FROM documents WHERE source = ?", (source,))
        return ids

    def set_fingerprint(self, source: str, fingerprint: bytes) -> None:
        """Keep the fingerprint of a document indexed before fingerprints were (no generation change)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO document_fingerprints(document_id, fingerprint) "
                            "SELECT id, ? FROM documents WHERE source = ?", (fingerprint, source))

    # --- reads --------------------------------------------------------------------------------
    def manifest(self) -> dict[str, str]:
        """{source: content_hash} of every stored document."""
        return {r[0]: r[1] for r in self.db.execute("SELECT source, content_hash FROM documents")}

    def fingerprints(self, sources: Sequence[str]) -> dict[str, bytes | None]:
        """{source: fingerprint, or None if it has none yet} of these stored documents."""
        wanted = set(sources)
        rows = self.db.execute("SELECT d.source, f.fingerprint FROM documents d "
                               "LEFT JOIN document_fingerprints f ON f.document_id = d.id")
        return {r[0]: r[1] for r in rows if r[0] in wanted}

    def documents(self) -> list[Document]:
        rows = self.db.execute(
            "SELECT d.id, d.source, d.content_hash, d.size, d.ingested_at, d.metadata, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id) AS n "
            "FROM documents d ORDER BY d.source"
        )
        return [Document(r["id"], r["source"], r["content_hash"], r["size"], r["n"], r["ingested_at"],
                         json.loads(r["metadata"])) for r in rows]

    def document_text(self, source: str) -> str | None:
        row = self.db.execute("SELECT text FROM documents WHERE source = ?", (source,)).fetchone()
        return None if row is None else row[0]

    def chunk_holding(self, source: str, offset: int) -> int | None:
        """The id of the first chunk of `source` whose span holds the character `offset` of its text, if any."""
        row = self.db.execute(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id "
            "WHERE d.source = ? AND c.start <= ? AND ? < c.end ORDER BY c.ordinal LIMIT 1",
            (source, offset, offset)).fetchone()
        return None if row is None else int(row[0])

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunk_ids(self) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def embeddings(self, ids: Sequence[int]) -> np.ndarray:
        """(len(ids), dim) float32 in the order of `ids`."""
        rows = {}
        for batch in _batches(list(ids), 900):
            marks = ",".join("?" * len(batch))
            for r in self.db.execute(f"SELECT id, embedding FROM chunks WHERE id IN ({marks})", batch):
                rows[r[0]] = np.frombuffer(r[1], dtype=np.float32)
        return np.stack([rows[i] for i in ids]) if ids else np.zeros((0, 0), dtype=np.float32)

    def hits(self, scored: Sequence[tuple[int, float, float]]) -> list[Hit]:
        """Materialise (chunk_id, score, similarity) triples as Hits, keeping their order."""
        if not scored:
            return []
        ids = [s[0] for s in scored]
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: r for r in self.db.execute(
            "SELECT c.id, c.start, c.end, c.text, c.metadata, d.source FROM chunks c "
            f"JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})", ids)}
        return [
            Hit(chunk_id=i, source=rows[i]["source"], text=rows[i]["text"], start=rows[i]["start"],
                end=rows[i]["end"], score=score, similarity=sim, metadata=json.loads(rows[i]["metadata"]))
            for i, score, sim in scored if i in rows
        ]

    def keyword_search(self, query: str, k: int, max_candidates: int = KEYWORD_CANDIDATES) -> list[tuple[int, float]]:
        """BM25 over chunk text: [(chunk_id, score)] best first, score higher is better (see `keyword_matches`)."""
        return self.keyword_matches(query, k, max_candidates).ranked

    def keyword_matches(self, query: str, k: int, max_candidates: int = KEYWORD_CANDIDATES) -> KeywordMatches:
        """BM25 over chunk text, with the document frequency of each query word.

        Ranking costs time per matching chunk, so at most about `max_candidates` chunks are ranked:
        the query's rarest words are kept while their matches fit, and words that match more chunks
        (little BM25 weight in a large index) are left out. When every word is that common, the
        chunks holding all of them are ranked instead, or the first `max_candidates` of those.
        Below `max_candidates` chunks nothing is ever left out.
        """
        counts = self.word_frequencies(query, max_candidates)
        if not counts:
            return KeywordMatches([])
        words = set(counts)
        kept, total = [], 0
        for word in sorted(words, key=lambda w: (counts[w], w)):
            if total + counts[word] > max_candidates:
                break
            kept.append(word)
            total += counts[word]
        if kept:
            match = " OR ".join(f'"{w}"' for w in sorted(kept))
            sql = "SELECT rowid, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?"
            ranked = [(r[0], -float(r[1])) for r in self.db.execute(sql, (match, k))]  # bm25 is lower-is-better
        else:
            match = " AND ".join(f'"{w}"' for w in sorted(words))
            sql = "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?"
            by_rank = sorted((-float(r[1]), r[0]) for r in self.db.execute(sql, (match, max_candidates)))
            ranked = [(rowid, -rank) for rank, rowid in by_rank[:k]]
        return KeywordMatches(ranked, counts, self.chunk_total())

    def word_frequencies(self, query: str, max_candidates: int = KEYWORD_CANDIDATES) -> dict[str, int]:
        """{query word: chunks holding it, counted up to `max_candidates` + 1}, stopwords dropped (unless the query
        has nothing else) and a word that matches nothing respelled (`respelling`)."""
        words = set(words_of(query))
        words = (words - STOPWORDS) or words  # a query of only stopwords still searches them
        counts = {w: self._matches(f'"{w}"', max_candidates + 1) for w in words}
        for word in [w for w, n in counts.items() if n == 0]:  # a misspelling ("Ghandi") finds nothing as written
            respelled = self.respelling(word)
            if respelled and respelled not in counts:
                del counts[word]
                counts[respelled] = self._matches(f'"{respelled}"', max_candidates + 1)
        return counts

    def respelling(self, word: str) -> str | None:
        """The indexed word `word` is most likely a slip of (one letter added, dropped, changed or two swapped,
        or the same letters in another order: "Ghandi" → "gandhi"), starting with the same letter; the most
        frequent if several, None if none or `word` is short (under 5 letters) or not alphabetic."""
        word = word.lower()
        if len(word) < 5 or not word.isalpha():
            return None
        # The FTS5 vocabulary (index terms, after the porter stemmer), as a temporary table of this connection:
        # it also works on a read-only snapshot.
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocabulary USING fts5vocab(main, chunks_fts, row)")
        terms = self.db.execute("SELECT term, doc FROM temp.chunks_vocabulary WHERE term >= ? AND term < ?",
                                (word[0], chr(ord(word[0]) + 1))).fetchall()
        slips = [(doc, term) for term, doc in terms if term != word and _one_slip_apart(word, term)]
        return max(slips)[1] if slips else None

    def chunk_total(self) -> int:
        """`chunk_count()`, counted once per store generation (a count scans the table)."""
        generation = self.generation
        if self._counted is None or self._counted[0] != generation:
            self._counted = (generation, self.chunk_count())
        return self._counted[1]

    def _matches(self, match: str, limit: int) -> int:
        """How many chunks match, counting no further than `limit` (cheap: no ranking)."""
        sql = "SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)"
        return int(self.db.execute(sql, (match, limit)).fetchone()[0])


def _one_slip_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with one letter added, dropped or changed, two neighbours swapped, or its letters reordered."""
    if len(a) == len(b):
        if sorted(a) == sorted(b):  # a swap or a misplaced letter ("ghandi", "gandhi")
            return True
        return sum(x != y for x, y in zip(a, b)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((n for n, (x, y) in enumerate(zip(short, long)) if x != y), len(short))
    return short[i:] == long[i + 1:]


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
