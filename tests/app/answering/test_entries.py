"""A question for several of a kind over a reference is answered by its entries: each name with what it says first."""
from __future__ import annotations

from app.answering.explanation import as_read, explanation_evidence
from app.answering.support import is_supported
from index.types import Hit
from ingest.loaders import load_html

GLOB_HTML = """<html><body><section><h1>glob — Unix style pathname pattern expansion</h1>
<p>Source code: Lib/glob.py</p>
<p>The glob module finds all the pathnames matching a specified pattern according to the rules used by the Unix
shell, although results are returned in arbitrary order.</p>
<dl class="py function"><dt class="sig sig-object py" id="glob.glob"><span class="sig-prename">glob.</span><span
class="sig-name">glob</span>(<em class="sig-param">pathname</em>, <em class="sig-param">*</em>, <em
class="sig-param">root_dir=None</em>, <em class="sig-param">recursive=False</em>)<a class="headerlink"
href="#glob.glob">¶</a></dt><dd><p>Return a possibly empty list of path names that match <em>pathname</em>, which must be
a string containing a path specification.</p><p>If <em>recursive</em> is true, the pattern “**” will match any files.</p>
</dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="glob.iglob">glob.iglob(pathname, *, root_dir=None,
recursive=False)</dt><dd><p>Return an iterator which yields the same values as glob() without actually storing them
all simultaneously.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="glob.escape">glob.escape(pathname)</dt><dd><p>Escape all
special characters ('?', '*' and '[').</p><p>This is useful if you want to match an arbitrary literal string.</p>
</dd></dl>
<p>For example, consider a directory containing the following files: 1.gif, 2.txt and card.gif.</p>
</section></body></html>"""


def _explained(question: str, text: str, embedder, source: str) -> list[Hit]:
    passage = Hit(chunk_id=1, source=source, text=text, start=0, end=len(text), score=1, similarity=0.6)
    chosen = explanation_evidence(question, [passage], embedder, 4, 0.3, document_text=lambda s: text,
                                  chunk_of=lambda s, offset: 1)
    assert all(text[s.start:s.end] == s.text for s in chosen)  # verbatim spans of the document
    assert all(is_supported(as_read(s.text), [s.text]) for s in chosen)  # and each carries what the answer says
    return chosen


def test_which_functions_a_module_provides_lists_its_entries_each_with_its_first_sentence(embedder):
    text = load_html(GLOB_HTML.encode()).text
    said = [as_read(s.text) for s in _explained("Which functions does the glob module provide?", text, embedder,
                                                "glob.html")]
    assert said == [
        "glob.glob(pathname, *, root_dir=None, recursive=False) — Return a possibly empty list of path names that "
        "match pathname, which must be a string containing a path specification.",
        "glob.iglob(pathname, *, root_dir=None, recursive=False) — Return an iterator which yields the same values as "
        "glob() without actually storing them all simultaneously.",
        "glob.escape(pathname) — Escape all special characters ('?', '*' and '[')."]


SHUTIL_MD = """# shutil — High-level file operations

The shutil module offers a number of high-level operations on files and collections of files.

### shutil.copyfile(src, dst)

Copy the contents of the file named src to a file named dst and return dst.

### shutil.copymode(src, dst)

Copy the permission bits from src to dst.

### shutil.rmtree(path)

Delete an entire directory tree; path must point to a directory.

### shutil.move(src, dst)

Recursively move a file or directory to another location and return the destination.

### exception shutil.Error

This exception collects exceptions that are raised during a multi-file operation.
"""


def test_signature_lines_of_markdown_are_entries_narrowed_by_what_the_question_asks_for(embedder):
    chosen = _explained("Which functions does shutil provide for copying?", SHUTIL_MD, embedder, "shutil.md")
    assert [as_read(s.text) for s in chosen] == [
        "shutil.copyfile(src, dst) — Copy the contents of the file named src to a file named dst and return dst.",
        "shutil.copymode(src, dst) — Copy the permission bits from src to dst."]
    errors = _explained("What exceptions does the shutil module define?", SHUTIL_MD, embedder, "shutil.md")
    assert [as_read(s.text) for s in errors] == [
        "exception shutil.Error — This exception collects exceptions that are raised during a multi-file operation."]


def test_a_question_that_names_no_kind_of_entry_is_explained_as_before(embedder):
    text = load_html(GLOB_HTML.encode()).text
    chosen = _explained("What are the pathnames matched by glob?", text, embedder, "glob.html")
    assert len(chosen) <= 4 and not all(" — " in as_read(s.text) for s in chosen)
