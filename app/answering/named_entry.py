"""The entry of a reference that a question names ("What does str.split return?"): its sentences answer first.

A reference's entries resemble each other: asked what `str.split` returns, the embedder and the question's words rank
`str.partition(sep) — Split the string at the first occurrence of sep, and return a 3-tuple …` above `str.split(sep=None,
maxsplit=-1) — Return a list of the words in the string …`. A person who writes a name as code (dotted, with "()",
with an underscore, in backticks) or asks what one word does ("What does enumerate return?") means that entry, and its
description, from its term to the next entry, is where the answer is: read whole, from the chunks that hold it,
though the search returned only some of them.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from app.answering.entries import document_entries, opened_entry, plain_name
from index.types import Hit

# A name written as code: "os.path.join", "split()", "read_text", "`sorted`", "__init__".
CODE_NAME = re.compile(r"`(?P<quoted>[^`\s]+)`|(?P<name>\b_*[A-Za-z][\w]*(?:\.[A-Za-z_]\w*)+|\b_*[A-Za-z]\w*\(\)|"
                        r"\b_*[A-Za-z][A-Za-z0-9]*_\w*)")
# The one-word subject of "What does enumerate return?" (do, yield, raise, mean).
_SUBJECT = re.compile(r"^\s*what (?:does|do) (?:the )?(?P<name>\w[\w.]*)(?: \w+)? (?:do|return|yield|raise|mean)\b",
                      re.IGNORECASE)
_NOT_A_NAME = frozenset("it this that these those he she they one there".split())  # "What does it mean …?"
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]\.?")  # "U.S.", "e.g.": dotted, but no code


def asked_names(question: str) -> list[str]:
    """The names the question writes as code (`code_names`), else the one-word subject of "What does X do?"."""
    names = code_names(question)
    subject = _SUBJECT.match(question)
    if not names and subject and subject.group("name").lower() not in _NOT_A_NAME:
        names.append(subject.group("name").removesuffix("."))
    return names


def code_names(text: str) -> list[str]:
    """The names a text writes as code, as written, without "()" or backticks, in order: "os.path.join",
    "read_text", "sorted" of "`sorted`"; not an abbreviation ("U.S.", "e.g.")."""
    names = [(m.group("quoted") or m.group("name")).removesuffix("()") for m in CODE_NAME.finditer(text)]
    return [n for n in dict.fromkeys(names) if len(n) > 1 and not _ABBREVIATION.fullmatch(n)]


def names_it(entry_name: str, asked: str) -> bool:
    """Whether a name asked ("split", "str.split", "pathlib.Path.read_text") names the entry `entry_name` ("str.split",
    "Path.read_text"): the same, or one a qualified form of the other."""
    entry_name, asked = entry_name.lower(), asked.lower()
    return entry_name == asked or entry_name.endswith("." + asked) or asked.endswith("." + entry_name)


def named_entry_sentences(question: str, sentences: Sequence[Hit],
                          document_text: Callable[[str], str | None]) -> list[Hit]:
    """The sentences of `sentences` (ranked, best first) that lie in the entries the question names, each entry's
    term and first sentence first, then the rest of its description in the ranked order; none when the question names
    no entry that `sentences` hold. Of several entries one name fits ("split": str.split, bytes.split), the best ranked."""
    asked = asked_names(question)
    if not asked:
        return []
    openings: list[Hit] = []
    for name in asked:
        opening = next((s for s in sentences if _opens_entry_named(s, name)), None)
        if opening is not None and opening not in openings:
            openings.append(opening)
    chosen = list(openings)
    for opening in openings:
        document = document_text(opening.source)
        end = _description_end(document, opening.start, opening.end) if document else opening.end
        chosen += [s for s in sentences if s.source == opening.source and opening.start < s.start < end
                   and s not in chosen]
    return chosen


DESCRIPTION_CHARS = 3000  # the most of a named entry's description read for its sentences
_STEP = 200  # a chunk is longer than this: stepping through a description by it meets each of its chunks


def named_entry_chunks(question: str, hits: Sequence[Hit], document_text: Callable[[str], str | None],
                       chunk_of: Callable[[str, int], int | None]) -> list[int]:
    """The ids of the chunks holding the description of each entry the question names, in the documents of `hits`,
    that `hits` do not hold: a description longer than a chunk ("The cache is threadsafe …", three sentences into
    `functools.lru_cache`'s) is read whole, wherever the search found its entry."""
    asked = asked_names(question)
    found: list[int] = []
    for source in dict.fromkeys(hit.source for hit in hits) if asked else ():
        document = document_text(source)
        entries = document_entries(document) if document else ()
        for name in asked:
            entry = next((e for e in entries if names_it(plain_name(e.term(document)), name)), None)
            if entry is None:
                continue
            end = min(_description_end(document, entry.start, entry.end), entry.start + DESCRIPTION_CHARS)
            found += [chunk_of(source, offset) for offset in [*range(entry.start, end, _STEP), end - 1]]
    held = {hit.chunk_id for hit in hits}
    return [i for i in dict.fromkeys(found) if i is not None and i not in held]


# A heading as a loader writes it: a line of its own between blank lines, a few words, no sentence's end
# ("Performance Notes", "## Examples").
_HEADING = re.compile(r"\n\n(?:#{1,6}[ \t]+)?[A-Z][^\n.:;?!,]{0,60}\n\n")


def _description_end(document: str, start: int, opening_end: int) -> int:
    """Where the description of the entry at `start` (its term and first sentence ending at `opening_end`) ends: at
    the next entry, or at the next heading."""
    ends = [e.start for e in document_entries(document) if e.start > start]
    heading = _HEADING.search(document, opening_end)
    return min([*ends, *([heading.start()] if heading else [])], default=len(document))


def _opens_entry_named(sentence: Hit, name: str) -> bool:
    opened = opened_entry(sentence.text)
    return opened is not None and names_it(opened, name)
