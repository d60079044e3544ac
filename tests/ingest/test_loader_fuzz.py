"""Hostile and broken files: every loader answers with text or a clear skip reason, never an exception or a hang."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.loaders import LoadedText, UnreadableFile
from ingest.sandbox import load_within
from tests.pdf_maker import make_pdf

EXAMPLES = 150  # per test; the whole file stays within seconds
LIMIT = 10.0  # seconds per file, as RAGQA_MAX_FILE_SECONDS: past it the reader is stopped, so nothing can hang
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = [".txt", ".md", ".html", ".pdf"]
examples_run: dict[str, int] = {}


def _read(suffix: str, data: bytes, test: str) -> LoadedText | str:
    """The loaded text, or the skip reason; anything else (an exception) fails the test. Read as ingest
    reads, in the time-limited reader process; a file that hit the limit would fail the test too."""
    examples_run[test] = examples_run.get(test, 0) + 1
    try:
        loaded = load_within(Path(f"fuzzed{suffix}"), data, LIMIT)
    except UnreadableFile as exc:
        assert str(exc).strip(), "a skip needs a reason"
        assert "took longer" not in str(exc), f"{len(data)} bytes of {suffix} took over {LIMIT} s"
        return str(exc)
    assert isinstance(loaded.text, str) and loaded.text.strip()
    return loaded


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_random_bytes(suffix, data):
    _read(suffix, data, "random bytes")


@FUZZ
@given(cut=st.integers(min_value=0, max_value=10_000), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                                        max_size=4))
def test_truncated_and_corrupted_pdfs(cut, flips):
    data = bytearray(make_pdf(["The lighthouse was built in 1872.", "It stands 41 metres tall."]))
    for position, value in flips:
        data[position % len(data)] = value
    _read(".pdf", bytes(data[:cut]), "broken PDFs")


_TAGS = st.sampled_from(["div", "p", "span", "table", "tr", "td", "script", "style", "ul", "li", "b", "svg", "head", "title"])


@FUZZ
@given(depth=st.integers(min_value=1, max_value=20_000), tag=_TAGS, close=st.booleans(),
       text=st.text(max_size=50))
def test_deeply_nested_html(depth, tag, close, text):
    html = f"<{tag}>" * depth + text + (f"</{tag}>" * depth if close else "")
    _read(".html", html.encode("utf-8", "surrogatepass"), "nested HTML")


@FUZZ
@given(parts=st.lists(st.one_of(st.text(max_size=30), _TAGS.map(lambda t: f"<{t}"), _TAGS.map(lambda t: f"</{t}>"),
                                st.sampled_from(["<", ">", "&", "&#x110000;", "&#0;", "<!--", "-->", "<![CDATA[", "=\"",
                                                 "<?xml", "<!DOCTYPE", "\x00", "\ud800"])), max_size=60))
def test_malformed_html(parts):
    _read(".html", "".join(parts).encode("utf-8", "surrogatepass"), "malformed HTML")


@FUZZ
@given(suffix=st.sampled_from([".txt", ".md", ".html"]), prefix=st.text(max_size=40),
       bad=st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80", b"\xc0\xaf"]))
def test_invalid_utf8(suffix, prefix, bad):
    result = _read(suffix, prefix.encode("utf-8", "surrogatepass") + bad, "invalid UTF-8")
    if suffix != ".html":  # HTML parsers repair encodings; text files are refused with the offset
        assert isinstance(result, str)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(suffix=st.sampled_from(SUFFIXES), length=st.integers(min_value=100_000, max_value=2_000_000))
def test_huge_lines(suffix, length):
    _read(suffix, b"word " * (length // 5), "huge lines")


def test_a_file_over_the_time_limit_is_skipped_and_the_next_one_still_loads():
    huge_html = ("<div>" + "<p>a paragraph of text</p>" * 200_000 + "</div>").encode()  # seconds of parsing
    started = time.perf_counter()
    with pytest.raises(UnreadableFile, match="took longer than the limit of 0.2 s"):
        load_within(Path("slow.html"), huge_html, 0.2)
    assert time.perf_counter() - started < 5  # stopped, not waited for
    assert load_within(Path("fine.txt"), b"A normal file.", 10).text == "A normal file."
    with pytest.raises(UnreadableFile):
        load_within(Path("broken.pdf"), b"%PDF-1.4 garbage", 10)  # reasons cross the process boundary


def test_report_fuzz_examples():
    """Runs last in this file: every fuzz test above really fed the loaders its examples (and says how many)."""
    fuzz_tests = [value for name, value in globals().items() if name.startswith("test_") and hasattr(value, "hypothesis")]
    if not examples_run:
        pytest.skip("run with the fuzz tests of this file")
    print("\nloader fuzzing: " + ", ".join(f"{name} {n}" for name, n in examples_run.items())
          + f"; total {sum(examples_run.values())}")
    assert len(examples_run) == len(fuzz_tests)  # each fuzz test reached the loaders
    planned = sum(test._hypothesis_internal_use_settings.max_examples for test in fuzz_tests)
    assert sum(examples_run.values()) >= 0.9 * planned, f"{examples_run} of {planned} planned examples"
