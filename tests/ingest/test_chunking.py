"""Chunks are exact slices of the text, bounded in word-pieces, sentence-aligned, and overlapping."""
from __future__ import annotations

import random

import pytest

from ingest.chunking import Chunker

ENGLISH = " ".join(
    f"Sentence number {i} says that the river Aldra floods every {i % 7 + 2} years near the mill."
    for i in range(60)
)
UNICODE_HEAVY = "\n".join([
    "Ünïcödé tëxt wïth dïäcrïtïcs. 東京は日本の首都です。人口は約1400万人です！",
    "Emoji 👩🏽‍🔬 and flags 🇳🇴 stay intact… «Guillemets» and “curly quotes.” Next one?",
    "Арабский: مرحبا بالعالم. Hebrew: שלום עולם. Combining: e\u0301 a\u0308 o\u0302.",
    "Zero\u200bwidth and non\u00a0breaking spaces. Tabs\tand\r\nwindows line ends.",
] * 25)


def _tokens(chunker, text):
    return len(chunker.tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("text", [ENGLISH, UNICODE_HEAVY], ids=["english", "unicode"])
def test_every_chunk_is_an_exact_slice_within_the_token_budget(chunker, text):
    chunks = chunker.split(text)
    assert len(chunks) > 3
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert _tokens(chunker, chunk.text) <= chunker.max_tokens
    # together they cover the text from its first to its last non-space character
    assert chunks[0].start == len(text) - len(text.lstrip())
    assert chunks[-1].end == len(text.rstrip())


def test_chunks_break_between_sentences_and_overlap(chunker):
    chunks = chunker.split(ENGLISH)
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("mill.")
    for before, after in zip(chunks, chunks[1:]):
        assert after.start < before.end, "consecutive chunks share their boundary sentences"
        assert after.start > before.start, "every chunk moves forward"


def _paragraph(chunker, topic: str, share: float) -> str:
    """Sentences about `topic` worth about `share` of the chunker's budget."""
    sentences, n = [], 0
    while _tokens(chunker, " ".join(sentences)) < share * chunker.max_tokens:
        sentences.append(f"The {topic} report, part {n}, notes a change in the {topic} figures this season.")
        n += 1
    return " ".join(sentences)


def test_paragraphs_that_fit_are_never_split_between_chunks(chunker):
    paragraphs = [_paragraph(chunker, topic, 0.4) for topic in ("harbour", "orchard", "railway", "quarry", "bakery")]
    text = "\n\n".join(paragraphs)
    chunks = chunker.split(text)
    starts = {text.index(p) for p in paragraphs}
    ends = {text.index(p) + len(p) for p in paragraphs}
    for chunk in chunks:
        assert chunk.start in starts and chunk.end in ends, "each chunk is whole paragraphs"
        assert _tokens(chunker, chunk.text) <= chunker.max_tokens
    assert len(chunks) == 3  # two paragraphs fit a chunk, a third would not
    assert all(after.start >= before.end for before, after in zip(chunks, chunks[1:])), "nothing repeated"


@pytest.mark.parametrize("heading", ["", "# Harbour news\n\n"], ids=["alone", "after-a-heading"])
def test_a_paragraph_a_little_too_long_is_cut_in_halves_not_into_a_chunk_and_a_scrap(chunker, heading):
    # Its last sentences keep half their paragraph around them instead of a few words of it: a question about
    # them still finds the names and subject the paragraph gave earlier.
    long, short = _paragraph(chunker, "harbour", 1.1), _paragraph(chunker, "orchard", 0.3)
    text = f"{heading}{long}\n\n{short}"
    chunks = chunker.split(text)
    first, last = len(heading), len(heading) + len(long)
    parts = [text[max(c.start, first):min(c.end, last)] for c in chunks if c.start < last]  # shares of the long one
    assert chunks[0].text.startswith(heading)
    assert len(parts) == 2 and parts[1].endswith(long[long.rindex("The harbour report"):])
    sizes = [_tokens(chunker, part) for part in parts]
    assert min(sizes) >= 0.8 * max(sizes), sizes  # before: 238 word-pieces, then the last 68 beside the next paragraph
    assert all(_tokens(chunker, c.text) <= chunker.max_tokens for c in chunks)
    assert chunks[-1].text.endswith(short)


def test_a_heading_stays_with_the_paragraph_it_introduces(chunker):
    heading, body = "# Quarry safety", _paragraph(chunker, "quarry", 1.5)
    chunks = chunker.split(f"{heading}\n\n{body}")
    assert chunks[0].text.startswith(heading) and len(chunks[0].text) > len(heading) * 5


def test_a_sentence_longer_than_a_chunk_is_cut_at_word_pieces(embedder):
    chunker = Chunker(embedder.tokenizer, max_tokens=32, overlap_tokens=8)
    text = " ".join(random.Random(7).choice(["alpha", "beta", "gamma", "délta", "εψιλον"]) for _ in range(400))
    chunks = chunker.split(text)
    assert len(chunks) > 10
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert _tokens(chunker, chunk.text) <= 32


def test_blank_text_gives_no_chunks(chunker):
    assert chunker.split("  \n\n\t ") == []


def test_invalid_sizes_are_rejected_with_the_value(embedder):
    with pytest.raises(ValueError, match="overlap_tokens"):
        Chunker(embedder.tokenizer, max_tokens=64, overlap_tokens=64)


def test_prose_sentences_keep_hard_wrapped_lines_together():
    from core.text import sentence_spans

    text = "# Title\nTo ingest a folder, run the ingest\ncommand with an index. Then serve it.\n- a list item\n\nNew paragraph"
    sentences = [text[s:e] for s, e in sentence_spans(text, join_wrapped_lines=True)]
    assert sentences == ["# Title", "To ingest a folder, run the ingest\ncommand with an index.", "Then serve it.",
                         "- a list item", "New paragraph"]
    assert [text[s:e] for s, e in sentence_spans(text)][:3] == ["# Title", "To ingest a folder, run the ingest",
                                                                "command with an index."]
