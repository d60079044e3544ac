"""Which entries of a reference answer a question for several of a kind ("Which functions does shutil provide for
copying?"): the entries of the kind it names in the document it is about, narrowed to those its other words name.

The document is that of one of the evidence sentences ranked best. A question's words that name the subject ("glob",
"module", "provide") are in every entry or in none; the others ("copying", "reading files") say which entries it
means, and the entries that hold the most of them are listed (the embedder alone ranked `Path.readlink()` above
`Path.read_text()` for "reading files"). A long list keeps the entries closest to the question.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from app.answering.entries import Entry, asked_kinds, document_entries, entries_of_kind, entry_read, plain_name
from app.answering.support import claim_words, stem, tokens
from index.embedder import Embedder
from index.types import Hit

MAX_LISTED = 8  # a longer list is a reference to look things up in, not an answer
SOURCE_SENTENCES = 4  # the document listed is that of one of the best ranked evidence sentences
# Words that ask about a subject's entries without naming any of them.
_ASKING_WORDS = frozenset("""provide provides provided offer offers define defines defined have has contain contains
exist exists available support supports module modules library package class object give gives expose exposes
there list functions methods classes exceptions errors warnings attributes constants properties options flags""".split())


def listed_entries(question: str, ranked: Sequence[Hit], embedder: Embedder, question_vector: np.ndarray | None,
                   document_text: Callable[[str], str | None],
                   chunk_of: Callable[[str, int], int | None]) -> list[Hit] | None:
    """The entries a question for several of a kind asks for, each as the verbatim span of its term and first
    sentence, in reading order; None when the question names no kind of entry or the documents of its best evidence
    hold none of that kind. `chunk_of` (source, offset) → the id of the chunk holding that offset."""
    listing = _listing(question, ranked, document_text)
    if listing is None:
        return None
    sentence, document, groups = listing
    # The entries of all the kinds asked for that the question's telling words name ("Which assert methods …": a
    # Sphinx page's methods under their class are "callables"), among the members of the class it names if it names
    # one ("Which methods does Counter provide?"); else those members, else all of the first kind the document has.
    every = [e for group in groups for e in group]
    members = _members_of_named_class(question, document, every)
    chosen = _named_by(question, members or every, document) or members or groups[0]
    if question_vector is None:
        question_vector = embedder.embed_queries([question])[0]
    similarity = embedder.embed([entry_read(document[e.start:e.end]) for e in chosen]) @ question_vector  # (n,)
    closest = sorted(sorted(range(len(chosen)), key=lambda i: -similarity[i])[:MAX_LISTED])
    # An entry is as close to the question as the evidence that found its reference: "glob.escape(pathname) — Escape
    # all special characters" alone is far from "Which functions does glob provide?", which its page answers.
    return [Hit(chunk_id=chunk_of(sentence.source, chosen[i].start) or sentence.chunk_id, source=sentence.source,
                text=document[chosen[i].start:chosen[i].end], start=chosen[i].start, end=chosen[i].end,
                score=sentence.score, similarity=max(float(similarity[i]), sentence.similarity)) for i in closest]


def lists_entries(question: str, ranked: Sequence[Hit], document_text: Callable[[str], str | None]) -> bool:
    """Whether the question names a kind of entry that the document of one of its best evidence sentences lists."""
    return _listing(question, ranked, document_text) is not None


def _listing(question: str, ranked: Sequence[Hit], document_text: Callable[[str], str | None]
             ) -> tuple[Hit, str, list[list[Entry]]] | None:
    """The best ranked evidence sentence whose document lists entries of the kinds the question names, that document
    and those entries, by kind (`entries_of_kind`); None when the question names no kind or none of those documents
    lists one."""
    kinds = asked_kinds(question)
    if kinds is None:
        return None
    listings = []
    for sentence in ranked[:SOURCE_SENTENCES]:
        if any(sentence.source == seen.source for seen, _, _ in listings):
            continue
        document = document_text(sentence.source)
        candidates = entries_of_kind(document, kinds) if document else []
        if candidates:
            listings.append((sentence, document, candidates))
    if not listings:
        return None
    # The reference of what the question names ("glob" of glob.glob, glob.iglob), before a page that mentions it
    # ("See also the glob module."); else the best ranked.
    asked = {w.lower() for w in _NAME_PART.findall(question)}
    return max(listings, key=lambda listing: len(asked & _name_parts(listing[2][0], listing[1])))


_NAME_PART = re.compile(r"[A-Za-z0-9]+")


def _name_parts(entries: Sequence[Entry], document: str) -> set[str]:
    """The lower-cased parts of the entries' names ("glob", "iglob" of "glob.iglob", "path", "read", "text" of
    "Path.read_text"), with the words that say their kind ("exception")."""
    return {part.lower() for e in entries for part in _NAME_PART.findall(e.name(document))}


def _members_of_named_class(question: str, document: str, candidates: list[Entry]) -> list[Entry]:
    """The candidates that stand after the entry of a class the question names and before the document's next class
    entry (a reference lists a class's methods under it); none when it names no class of the document."""
    asked = {w.lower() for w in _NAME_PART.findall(question)}
    classes = _classes(document)
    for n, entry in enumerate(classes):
        if plain_name(entry.term(document)).rpartition(".")[2].lower() in asked:
            end = classes[n + 1].start if n + 1 < len(classes) else len(document)
            return [e for e in candidates if entry.end <= e.start < end]
    return []


def _classes(document: str) -> list[Entry]:
    """The document's class entries, in reading order."""
    return [e for e in document_entries(document) if e.kind == "class"]


def _named_by(question: str, candidates: list[Entry], document: str) -> list[Entry] | None:
    """The candidates that hold the most of the question's words that tell entries apart, in their names first
    ("assert" of `assertEqual`, before "TestCase" in a description), then in their first sentences; None when it has
    no such word."""
    names = [{stem(t) for t in tokens(e.name(document))} for e in candidates]
    held = [n | {stem(t) for t in tokens(e.description(document))} for n, e in zip(names, candidates)]

    def holds(entry_words: set[str], word: str) -> bool:  # "copy" in "copyfileobj", "read" in "read_text"
        return any(w.startswith(word) for w in entry_words)

    # A class the document defines is the subject whose entries are asked for ("Which methods does TestCase
    # provide?"), not a word that tells them apart.
    classes = {stem(t) for e in _classes(document) for t in tokens(e.name(document))}
    asked = {stem(w) for w in claim_words(question)} - {stem(w) for w in _ASKING_WORDS} - classes
    telling = [w for w in asked if len(w) >= 3 and 0 < sum(holds(h, w) for h in held) <= len(held) / 2]
    if not telling:
        return None
    counts = [(sum(holds(n, w) for w in telling), sum(holds(h, w) for w in telling)) for n, h in zip(names, held)]
    return [e for e, n in zip(candidates, counts) if n == max(counts)]
