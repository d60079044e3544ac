"""Explanations: the evidence sentences closest to the question, in reading order, each its own verbatim support.

An explanation is composed of the documents' own sentences rather than written by the model: a
1.5B model writing prose drifts from its evidence, and choosing sentences by number scored lower
than the embedder's ranking (bench/RESULTS.md, issue 12). Each chosen sentence brings the one after
it in its document, which usually goes on with it (the closest one alone: +0.06 key-point recall on
explain-dev at the same length; each of them: +0.02 more). The sentences come from more passages than a
short answer's (`RAGQA_EXPLAIN_TOP_K`, several documents when they bear on the question), and are shown
grouped by document, in the order the document tells them. An explanation of how two things differ says
something of each (app/answering/comparison.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from app.answering.comparison import compared, compared_phrases, with_each_side
from app.answering.entries import entry_read, is_entry
from app.answering.entry_choice import listed_entries
from app.answering.evidence import select_sentences
from app.answering.named_entry import named_entry_sentences
from app.answering.posed import Posed, answers
from app.answering.shape import asks_for_several
from app.answering.tables import holds_rows, is_row, line_around, read_rows, table_after
from core.text import sentence_spans, words_of
from index.embedder import Embedder
from index.types import Hit


def explanation_evidence(question: str, hits: Sequence[Hit], embedder: Embedder, count: int,
                         min_similarity: float = 0.0, question_vector: np.ndarray | None = None,
                         document_text: Callable[[str], str | None] | None = None,
                         chunk_of: Callable[[str, int], int | None] | None = None,
                         rare_words: Mapping[str, float] | None = None,
                         search: Callable[[str], Sequence[Hit]] | None = None,
                         posed: Posed | None = None) -> list[Hit]:
    """The `count` distinct sentences of `hits` closest to the question, best first (overlapping
    passages repeat sentences: each is kept once); after the first, only those whose cosine similarity
    to the question reaches `min_similarity` (a sentence on another subject adds nothing). With `rare_words` (the
    question's {stem: IDF}) they are ranked as a short answer's evidence is: a sentence that names what the question
    names ("perf_counter … measure a short duration" for "How do I measure elapsed time?") before one merely like it
    (evidence.select_sentences). A sentence that its
    passage ends inside is completed from its document when `document_text` (source → text) is given. A question for
    several of a kind ("Which functions does glob provide?") is answered by the entries of that kind its best
    evidence's document lists (app/answering/entry_choice.py), when given `chunk_of` (source, offset → chunk id).
    With `posed` (the documents' own question that this one restates), the sentences that answer it come first.
    A comparison whose chosen sentences speak of one side alone gets one about the other (comparison.py), from the
    passages `search` (query → passages, best first) finds for that side's own words when those searched hold none."""
    if question_vector is None:  # embedded once, for the question's passages and any side's
        question_vector = embedder.embed_queries([question])[0]
    found = _ranked(question, hits, embedder, question_vector, rare_words, document_text)
    several = asks_for_several(question)
    if several and document_text is not None and chunk_of is not None:
        listed = listed_entries(question, found, embedder, question_vector, document_text, chunk_of)
        if listed:
            return listed
    usable = _usable(found, hits, document_text, several)
    if not _ASKS_ABOUT_VERSIONS.search(question):  # a release note says when something changed, not what it does
        usable = [s for s in usable if not _VERSION_NOTE.match(s.text)]
    # The documents' own answer to the question the user restates (posed.py): first, in order, however close.
    own = sorted((s for s in usable if answers(posed, s)), key=lambda s: s.start) if posed is not None else []
    # The entry of a reference the question names ("What does str.split return?", named_entry.py): next.
    if document_text is not None:
        own += [s for s in named_entry_sentences(question, usable, document_text) if s not in own]
    usable = own + [s for s in usable if s not in own]
    distinct: dict[str, Hit] = {}  # by wording: a page that repeats a sentence (or a traceback line) says it once
    for sentence in usable:
        if distinct and sentence.similarity < min_similarity and sentence not in own:
            continue  # ranked by more than the similarity: one further down may yet reach it
        _add(distinct, sentence)
        if len(distinct) < count:
            # A document explains in consecutive sentences: the one after a chosen sentence usually goes on with it.
            following = next_sentence(sentence, usable)
            if following is not None and following.similarity >= NEIGHBOUR_MIN_SIMILARITY:
                _add(distinct, following)
        if len(distinct) >= count:
            break
    sides, phrases = compared(question), compared_phrases(question)
    if sides is None or phrases is None:
        return list(distinct.values())

    def searched_for(side: int) -> list[Hit]:  # the sentences of the side's own search, ranked against the question
        if search is None:
            return []
        passages = search(phrases[side])
        ranked = _ranked(question, passages, embedder, question_vector, rare_words, document_text)
        return _usable(ranked, passages, document_text, several)

    # A comparison of two things: a sentence about each (comparison.py).
    return with_each_side(list(distinct.values()), usable, sides, count, min_similarity, searched_for)


# A reference's release notes ("Changed in version 3.8: Returns a regular dict instead of an OrderedDict."), and the
# words of a question that asks about them.
_VERSION_NOTE = re.compile(r"\s*(?:changed|new|added|deprecated|removed) (?:in|since) version\b", re.IGNORECASE)
_ASKS_ABOUT_VERSIONS = re.compile(r"\b(?:versions?|releases?|changed?|new|added|deprecated|removed|since|when did|"
                                  r"history)\b", re.IGNORECASE)


def _ranked(question: str, hits: Sequence[Hit], embedder: Embedder, question_vector: np.ndarray,
            rare_words: Mapping[str, float] | None, document_text: Callable[[str], str | None] | None) -> list[Hit]:
    """The sentences of `hits`, best first (evidence.select_sentences), each that its passage ends inside read on in
    its document to its end, when given `document_text`."""
    found = select_sentences(question, hits, embedder, len(hits) * 64, question_vector, rare_words)
    if document_text is None:
        return found
    return [completed(s, document_text) if _cut_by_its_passage(s, hits) else s for s in found]


def _usable(found: Sequence[Hit], hits: Sequence[Hit], document_text: Callable[[str], str | None] | None,
            several: bool) -> list[Hit]:
    """The ranked sentences of `hits` that an explanation may give: each read whole (a table row, what it leads
    into), reading on its own, not cut by its passage's end."""
    # (whether its passage cut it is asked before a lead-in is joined with what it brings, which may end where its
    # passage does: "… by executing the command venv:", then "python3 -m venv /path/to/new/virtual/environment")
    rows = (_whole_row(s, hits, document_text) for s in found)
    ranked = [_whole(s, hits, document_text, several) for s in rows if not _cut_by_its_passage(s, hits)]
    return [s for s in ranked if _reads_on_its_own(s, s.text.lstrip()[:1].islower()  # its document read only then
                                                   and _opens_a_paragraph(s, hits, document_text))]


def _cut_by_its_passage(sentence: Hit, hits: Sequence[Hit]) -> bool:
    """A passage may end inside a hard-wrapped sentence; what it holds of that sentence is not one."""
    return any(hit.source == sentence.source and hit.end == sentence.end for hit in hits) and not _ends(sentence.text)


def _wording(sentence: Hit) -> str:
    return " ".join(words_of(sentence.text))


def _add(distinct: dict[str, Hit], sentence: Hit) -> None:
    """`sentence` added to the chosen ones, unless it says it again: the same words, or a part of a chosen one (a
    sentence or a row of a table chosen with the sentence that leads into it); chosen ones it holds give way to it."""
    if any(_within(sentence, c) for c in distinct.values()):
        return
    for wording in [w for w, c in distinct.items() if _within(c, sentence)]:
        del distinct[wording]
    distinct.setdefault(_wording(sentence), sentence)


def _within(sentence: Hit, other: Hit) -> bool:
    return sentence.source == other.source and other.start <= sentence.start and sentence.end <= other.end


# The sentence after a chosen one joins an explanation unless it is plainly about something else.
NEIGHBOUR_MIN_SIMILARITY = 0.1


def next_sentence(sentence: Hit, sentences: Sequence[Hit]) -> Hit | None:
    """The sentence of `sentences` that follows `sentence` in its document (only whitespace between), if any."""
    after = [s for s in sentences if s.source == sentence.source and 0 <= s.start - sentence.end <= _GAP]
    return min(after, key=lambda s: s.start, default=None)


def completed(sentence: Hit, document_text: Callable[[str], str | None]) -> Hit:
    """A sentence its passage ends inside ("Tuples are immutable, and usually contain … or indexing", the chunk
    cut at a hard-wrapped line) read on in its document to the sentence's end, as one verbatim span of the
    document (at most `COMPLETION_CHARS` more); the sentence as it is if the document is not found."""
    document = document_text(sentence.source)
    if document is None or document[sentence.start:sentence.end] != sentence.text:
        return sentence
    window = document[sentence.start:sentence.end + COMPLETION_CHARS]
    spans = sentence_spans(window, join_wrapped_lines=True)
    end = sentence.start + spans[0][1] if spans and spans[0][0] == 0 else sentence.end
    return replace(sentence, text=document[sentence.start:end], end=end) if end > sentence.end else sentence


COMPLETION_CHARS = 600  # the most of a sentence that the next passage holds and joins it
_GAP = 3  # characters between two sentences of a paragraph: a space, or a line break (two between paragraphs)
LEAD_IN_CHARS = 300  # the most of what a sentence ending with ":" leads into that joins it
LIST_CHARS = 600  # the most of a list after its first item that joins the sentence leading into it
PARAGRAPH_REST_CHARS = 400  # the most of its paragraph between a sentence and the table that ends it, to join them


def _whole(sentence: Hit, hits: Sequence[Hit], document_text: Callable[[str], str | None] | None = None,
           several: bool = False) -> Hit:
    """A sentence that leads into what follows it ("… run the venv module with the directory path:") joined with
    that (the command, the example, the list: up to `LEAD_IN_CHARS`), as one verbatim span of its passage; a
    sentence followed by a table that ends with ":", or any sentence a table follows when the question asks for
    several things, joined with the table's rows (and the rest of its paragraph before them, when the table ends
    the paragraph it is in: "… are given in the following table. These are … lost.", then the table), read on in its
    document, when given, past its passage's end; any other sentence as it is."""
    leads_in = sentence.text.rstrip().endswith(":")
    if (leads_in or several) and not is_row(sentence.text):
        with_table = _with_table(sentence, hits, document_text, PARAGRAPH_REST_CHARS if several else 0)
        if with_table is not None:
            return with_table
    if not leads_in:
        return sentence
    passage = next((h for h in hits if h.chunk_id == sentence.chunk_id), None)
    if passage is None:
        return sentence
    # What it leads into, however short ("deactivate"): the segment that follows it in the passage.
    offset = sentence.end - passage.start
    end = next((passage.start + b for a, b in sentence_spans(passage.text, join_wrapped_lines=True)
                if 0 <= a - offset <= _GAP and b - a <= LEAD_IN_CHARS), None)
    if end is None or end > passage.end:
        return sentence
    follows = passage.text[offset:end - passage.start].lstrip()
    if _BULLET.match(follows):  # a list: all its items ("The following types can be pickled:", then each type)
        text, offset = _around(sentence, hits, document_text) or (passage.text, passage.start)  # (read on past the passage)
        end = _list_end(text, offset, end)
        return replace(sentence, text=text[sentence.start - offset:end - offset], end=end)
    if follows.startswith("```"):  # a fenced block: all of it, or the sentence alone (not its opening "```json")
        closing = passage.text.find("```", offset + passage.text[offset:].find("```") + 3)
        end = passage.start + closing + 3 if closing >= 0 else passage.end + 1
        if end > passage.end or end - sentence.end > LEAD_IN_CHARS:
            return sentence
    return replace(sentence, text=passage.text[sentence.start - passage.start:end - passage.start], end=end)


def _list_end(text: str, offset: int, first_item_end: int) -> int:
    """Where the list whose first item ends at `first_item_end` ends in `text` (which starts at `offset` of its
    document): after its last item (an item's further sentences with it, not a paragraph after a blank line), or after
    the last that ends within `LIST_CHARS` of the first's end."""
    end, rest = first_item_end, text[first_item_end - offset:]
    for a, b in sentence_spans(rest[:LIST_CHARS + LEAD_IN_CHARS], join_wrapped_lines=True):
        if b > LIST_CHARS or (not _BULLET.match(rest[a:b]) and "\n\n" in text[end - offset:first_item_end - offset + a]):
            break  # too long a list to give whole, or the paragraph after it
        end = first_item_end + b
    return end


def _around(sentence: Hit, hits: Sequence[Hit], document_text: Callable[[str], str | None] | None
            ) -> tuple[str, int] | None:
    """The text a sentence lies in and that text's offset in its document: the document itself when given (a table
    may go on past its passage's end), else its passage; None when neither is found."""
    document = document_text(sentence.source) if document_text is not None else None
    if document is not None and document[sentence.start:sentence.end] == sentence.text:
        return document, 0
    passage = next((h for h in hits if h.chunk_id == sentence.chunk_id), None)
    return None if passage is None else (passage.text, passage.start)


def _whole_row(sentence: Hit, hits: Sequence[Hit], document_text: Callable[[str], str | None] | None) -> Hit:
    """A piece of a table row (the sentences of a cell are ranked apart: "| WARNING | An indication that something
    unexpected happened.", "The software is still working as expected. |") made the whole row, as one verbatim span:
    a row says what its first cell names; any other sentence as it is."""
    around = _around(sentence, hits, document_text) if "|" in sentence.text else None
    if around is None:
        return sentence
    text, offset = around
    at = sentence.start - offset
    line_start, line_end = line_around(text, at, at)
    line = text[line_start:line_end]
    if not is_row(line):
        return sentence
    start, end = line_start + len(line) - len(line.lstrip()), line_start + len(line.rstrip())
    return replace(sentence, text=text[start:end], start=offset + start, end=offset + end)


def _with_table(sentence: Hit, hits: Sequence[Hit], document_text: Callable[[str], str | None] | None,
                rest_of_paragraph: int) -> Hit | None:
    """The sentence and the table right after it (or after at most `rest_of_paragraph` characters more of its
    paragraph), as one verbatim span of its document (or, without the document, of its passage); None when no
    table follows it."""
    around = _around(sentence, hits, document_text)
    if around is None:
        return None
    text, offset = around
    table = table_after(text, sentence.end - offset)
    paragraph_end = text.find("\n\n", sentence.end - offset)
    if table is None and 0 <= paragraph_end - (sentence.end - offset) <= rest_of_paragraph:
        table = table_after(text, paragraph_end)
    if table is None:
        return None
    end = table[1] + offset
    return replace(sentence, text=text[sentence.start - offset:end - offset], end=end)


_WORD = re.compile(r"\w+")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)  # a list item's mark (`sub`: each line's)


def _opens_a_paragraph(sentence: Hit, hits: Sequence[Hit], document_text: Callable[[str], str | None] | None) -> bool:
    """Whether the sentence starts a paragraph (a blank line before it, or its document's start), as its document
    shows, else as its passage does."""
    around = _around(sentence, hits, document_text)
    if around is None:
        return False
    text, offset = around
    before = text[:sentence.start - offset].rstrip(" \t")
    return before.endswith("\n\n") or (offset == 0 and not before)


def _reads_on_its_own(sentence: Hit, opens_a_paragraph: bool = False) -> bool:
    """A sentence, not a title line ("Computational complexity theory"), a short table row ("| 0 | Answered."),
    the tail of a sentence cut at a quotation ("submit cheerfully to …"), a line of code or JSON
    (`{ "answer": …`) or the rest of a table row cut inside a cell (`` --followups N` (…) | the benchmark | ``): six words or
    more, or four and an ending as a sentence has, starting with anything but a lower-case letter or a bracket."""
    text = sentence.text.strip()
    if is_entry(text):  # an entry's term ("glob.escape(pathname)") and what its description says first
        return len(_WORD.findall(entry_read(text).split(" — ", 1)[-1])) >= 4
    if holds_rows(text):  # a table row, or a sentence and the table it leads into: what its cells say
        lead_in = text.split("\n|", 1)[0] if not is_row(text) else ""
        said = read_rows(text)
        return len(_WORD.findall(said)) >= 4 and not lead_in[:1].islower() and not _CODE_LINE.match(lead_in)
    if _is_numbered_heading(text):  # "4.4. break and continue Statements, and else Clauses on Loops"
        return False
    words = len(_WORD.findall(text))
    whole = words >= 6 or (words >= 4 and _ends(text))
    cut_cell = text.endswith("|") or " | " in text  # a row's cells, read from inside one
    # A lower-case start is the tail of a sentence cut short, unless a paragraph opens with it and it ends as a sentence
    # does ("ragqa runs offline once it is installed: …."; not a command line, "docker run --network host … ragqa").
    lower_case_sentence = opens_a_paragraph and text.rstrip().endswith((".", "!", "?"))
    return whole and (lower_case_sentence or not text[:1].islower()) and not _CODE_LINE.match(text) and not cut_cell


# A numbered section's heading: its number ("4.4.", "3."), words, no sentence's end.
_NUMBERED_HEADING = re.compile(r"(?:\d+\.)+\d*\s+(?P<title>[^\n]*[^\s.!?:)\"”`])\Z")


def _is_numbered_heading(text: str) -> bool:
    """A numbered heading, title-cased past its first word ("3. An Informal Introduction to Python"), not a numbered
    step ("1. Mix the flour and water")."""
    m = _NUMBERED_HEADING.match(text)
    if m is None:
        return False
    words = m.group("title").split()[1:]
    capitalised = sum(w[:1].isupper() for w in words)
    return capitalised >= 2 and capitalised >= 0.35 * len(words)

# JSON ({, }, ], [1, …], "key": …), markup (<…>) and shell or Python prompts; a Markdown link
# ("[the docs](…) say …") is prose.
_CODE_LINE = re.compile(r'[{}\]<]|\[\s*[\[{"\d]|\$ |>>>|"\w+"\s*:')


def _ends(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", ":", ")", '"', "”", "`")) or holds_rows(text) or is_entry(text)


def as_read(text: str) -> str:
    """An evidence sentence as an answer shows it: on one line, without a list item's bullet, a table's rows as
    items ("DEBUG — Detailed information, …; INFO — …": its support keeps the document's own characters), an entry of a
    reference as its term and what it says ("glob.escape(pathname) — Escape all special characters …")."""
    if is_entry(text):
        return entry_read(text)  # (a term alone reads as itself)
    if holds_rows(text):
        text = read_rows(text)
    return " ".join(_BULLET.sub("", text).split())


def in_reading_order(sentences: Sequence[Hit]) -> list[Hit]:
    """Documents in the order of their best sentence; each document's sentences in its own order."""
    first: dict[str, int] = {}
    for rank, sentence in enumerate(sentences):
        first.setdefault(sentence.source, rank)
    return sorted(sentences, key=lambda s: (first[s.source], s.start))
