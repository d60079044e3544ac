"""Loaders: one function per format, each turning a file's bytes into text plus metadata.

A loader raises `UnreadableFile` with a reason a person can act on; the pipeline reports it,
skips the file and goes on.
"""
from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class UnreadableFile(Exception):
    """The file cannot be turned into text; the message says why."""


@dataclass(frozen=True)
class LoadedText:
    """A document's extracted text; chunk offsets point into `text`."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def decode_text(data: bytes) -> str:
    """UTF-8 (or UTF-16/32 with a byte-order mark), exactly as written: no newline translation."""
    if not data.strip():
        raise UnreadableFile("empty file")
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise UnreadableFile(f"not valid {encoding.upper()} text despite its byte-order mark") from None
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def load_plain_text(data: bytes) -> LoadedText:
    """.txt and .md: the text as it is (Markdown is kept verbatim so quotes match the file)."""
    return LoadedText(decode_text(data))


_DROPPED_HTML_TAGS = ("script", "style", "noscript", "template", "svg", "head", "nav", "footer")
# ARIA landmarks of a site's chrome, not the page's content: a Sphinx page's sidebar, breadcrumbs and
# footer are half of a short page's text, the same on every page (which also hides near duplicates).
_DROPPED_HTML_ROLES = frozenset({"navigation", "contentinfo", "search"})
_BLOCK_HTML_TAGS = ("p", "div", "section", "article", "li", "tr", "pre", "blockquote", "dt", "dd",
                    "h1", "h2", "h3", "h4", "h5", "h6", "br", "table", "ul", "ol", "dl", "header",
                    "footer", "nav", "main", "aside", "figure", "figcaption", "hr")


# Blocks that are paragraphs of their own: every other block is one line, and the lines of a paragraph are read as
# one text when quoting (a hard-wrapped sentence), so a heading, a code block or a list item (a table of contents'
# "12.1. Introduction", "12.2. Creating Virtual Environments") would join the sentence after it.
_PARAGRAPH_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "pre", "li", "dt", "dd", "table"})
_PARAGRAPH_END = "\ue000"  # a private-use character that marks where such a block starts and ends, while lines are cleaned
# A table row is one line, its cells between pipes as a Markdown table writes them ("| DEBUG | Detailed information,
# typically of interest only when diagnosing problems. |"): a row is read as one statement, its key beside what it
# says, not as a heap of lines that run into each other ("Level When it's used DEBUG Detailed information …").
# Private-use characters mark a row's start and end and each cell's start until the row is put on one line.
_ROW_START, _ROW_END, _CELL_START = "\ue001", "\ue002", "\ue003"
_ROW_MARKS = re.compile(f"([{_ROW_START}{_ROW_END}{_CELL_START}])")
_EMPTY_ROW = re.compile(r"[|\s]*")  # a row of empty cells (a separator row has dashes)
# A definition list's entry (an API reference's `glob.glob(pathname, …)` and what it does, a glossary's term) is read
# as Markdown's definition lists write one: the term on one line, its definition on the next after ": " ("glob.glob(
# pathname, *, root_dir=None)\n: Return a possibly empty list …"), so the term stays beside what it is and an answer
# can tell an entry from a heading (app/answering/entries.py). Private-use characters mark a term's start and end and
# a definition's start until the term is put on one line.
_TERM_START, _TERM_END, _DEFINITION_START = "\ue004", "\ue005", "\ue006"
_TERM = re.compile(f"{_TERM_START}([^{_TERM_END}]*){_TERM_END}")
_DEFINITION_AFTER_TERM = re.compile(f"{_TERM_END}\n{_DEFINITION_START}\n?(?=[^{_PARAGRAPH_END}\n])")
# A definition that opens with a block of its own (a class's entry whose definition is its methods' entries): ":" alone.
_BLOCK_AFTER_TERM = re.compile(f"{_TERM_END}\n{_DEFINITION_START}(?=\n{_PARAGRAPH_END})")
# A list item's start, "- " once its lines are cleaned: a reader tells a list from the paragraphs after it ("The
# following types can be pickled:", then each type), as in Markdown.
_ITEM = "\ue007"
_ITEM_MARK = re.compile(f"{_ITEM}[\\s{_PARAGRAPH_END}]*(?=(?P<empty>{_ITEM}|\\Z))?")
_LEFT_MARKS = re.compile(f"{_TERM_END}|^{_DEFINITION_START}\n?|{_DEFINITION_START}", re.MULTILINE)


def load_html(data: bytes) -> LoadedText:
    """.html/.htm: visible text only, one line per block element; scripts and styles dropped."""
    from bs4 import BeautifulSoup

    if not data.strip():
        raise UnreadableFile("empty file")
    soup = BeautifulSoup(data, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    marked = _terms_on_one_line(_rows_on_one_line("".join(_visible_text(soup))))
    lines = (" ".join(line.split()) for line in marked.splitlines())
    text = "\n".join(line for line in lines if line and not _EMPTY_ROW.fullmatch(line))
    text = _BLOCK_AFTER_TERM.sub("\n:", _DEFINITION_AFTER_TERM.sub("\n: ", text))
    text = _LEFT_MARKS.sub("", text)
    text = _ITEM_MARK.sub(_item_start, text)
    text = re.sub(r"\n*(?:" + _PARAGRAPH_END + r"\n*)+", "\n\n", text).strip()  # _PARAGRAPH_TAGS: a blank line around
    if not text:
        raise UnreadableFile("no visible text in the HTML")
    return LoadedText(text, {"title": title} if title else {})


def _item_start(mark: re.Match) -> str:
    """A list item's "- ", before its first words (past the line breaks of a block it opens with); none for an item
    without words of its own (its text is a nested list's items)."""
    if mark.group("empty") is not None:
        return mark.group()[1:]
    return "- " if _PARAGRAPH_END not in mark.group() else f"{_PARAGRAPH_END}\n- "


def _visible_text(root) -> list[str]:
    """The page's text pieces in order, block boundaries as line breaks (so sentences don't fuse).

    An explicit stack, not recursion or tree edits: linear time and no recursion limit, however
    deeply a hostile page nests its elements.
    """
    from bs4 import CData, NavigableString, Tag

    pieces: list[str] = []
    stack: list = [root]
    while stack:
        node = stack.pop()
        if node is None:  # the end of a block element
            pieces.append("\n")
        elif node is _PARAGRAPH_END:  # a blank line follows: a heading or code never runs into the sentence after it
            pieces.append(f"\n{_PARAGRAPH_END}\n")
        elif type(node) is str:  # a row's end (page text is a NavigableString, never a plain str)
            pieces.append(node)
        elif isinstance(node, Tag):
            if node.name in _DROPPED_HTML_TAGS or _is_site_chrome(node) or _is_permalink(node):
                continue
            if node.name == "tr":
                pieces.append(_ROW_START)
                stack.append(_ROW_END + _separator_under(node))
            elif node.name in ("td", "th"):
                pieces.append(_CELL_START)
            elif node.name == "dt":  # a paragraph of its own, on one line, and its definition right after it
                pieces.append(f"\n{_PARAGRAPH_END}\n{_TERM_START}")
                stack.append(_TERM_END + "\n")
            elif node.name == "dd":
                pieces.append(f"\n{_DEFINITION_START}\n")
                stack.append(_PARAGRAPH_END)
            elif node.name == "li":  # a paragraph of its own, marked as Markdown marks a list's item
                pieces.append(f"\n{_PARAGRAPH_END}\n{_ITEM}" if node.get_text(strip=True) else f"\n{_PARAGRAPH_END}\n")
                stack.append(_PARAGRAPH_END)
            elif node.name in _BLOCK_HTML_TAGS:
                own_paragraph = node.name in _PARAGRAPH_TAGS or _is_label(node)
                pieces.append(f"\n{_PARAGRAPH_END}\n" if own_paragraph else "\n")
                stack.append(_PARAGRAPH_END if own_paragraph else None)
            stack.extend(reversed(node.contents))
        elif type(node) in (NavigableString, CData):  # not comments, doctypes or processing instructions
            pieces.append(str(node))
    return pieces


# How a paragraph that is a sentence (or leads into something) ends.
_SENTENCE_ENDS = (".", "!", "?", ":", ";", ",", ")", "]", '"', "'", "”", "’", "…")


def _is_label(tag) -> bool:
    """A paragraph that does not end as a sentence does: a label such as an admonition's title ("Note", "Warning") or
    a reference page's "Source code: Lib/venv/". Paragraphs are lines of one text (hard-wrapped sentences are joined
    across lines), so a label would otherwise be read as the start of the sentence after it ("Source code: Lib/venv/
    The venv module supports …"). Not a definition's first paragraph, which is read beside its term."""
    if tag.name != "p" or (tag.parent is not None and tag.parent.name == "dd" and tag.find_previous_sibling() is None):
        return False
    text = tag.get_text(" ", strip=True)
    return bool(text) and not text.endswith(_SENTENCE_ENDS)


def _separator_under(row) -> str:
    """After a header row (its cells all `th`), Markdown's separator row (`|---|---|`), which tells the header from
    the rows that are items; nothing after any other row."""
    row_cells = row.find_all(("td", "th"), recursive=False)
    if not row_cells or any(cell.name != "th" for cell in row_cells) or row.find_parent(("td", "th")):
        return ""
    return "\n|" + "---|" * len(row_cells) + "\n"


def _rows_on_one_line(text: str) -> str:
    """Each table row of `text` (between its marks) on a line of its own, `| cell | cell |`: the line breaks and
    paragraph marks of its cells become spaces. A table nested in a cell is read into that cell, as its words."""
    out, depth = [], 0
    for part in _ROW_MARKS.split(text):
        if part == _ROW_START:
            out.append("\n" if depth == 0 else " ")
            depth += 1
        elif part == _ROW_END:
            depth -= 1
            out.append(" |\n" if depth == 0 else " ")
        elif part == _CELL_START:
            out.append(" | " if depth == 1 else " ")  # a nested table's cells are words of the outer cell
        elif depth:
            out.append(part.replace("\n", " ").replace(_PARAGRAPH_END, " "))
        else:
            out.append(part)
    return "".join(out)


def _terms_on_one_line(text: str) -> str:
    """Each definition list's term (between its marks) on one line: its line breaks and paragraph marks become
    spaces (a signature wrapped in the page's source is one name)."""
    return _TERM.sub(lambda m: m.group(1).replace("\n", " ").replace(_PARAGRAPH_END, " ") + _TERM_END, text)


def _is_permalink(tag) -> bool:
    """A heading's permalink mark, such as Sphinx's and MkDocs' `<a class="headerlink" href="#…">¶</a>`: a link
    within the page whose text is a symbol only, which would otherwise end the heading's text ("Introduction¶")."""
    return (tag.name == "a" and str(tag.get("href") or "").startswith("#")
            and not any(c.isalnum() for c in tag.get_text()))


def _is_site_chrome(tag) -> bool:
    """A navigation, search or footer landmark: by ARIA role, or the id or class `footer` that most site generators use."""
    return (tag.get("role") in _DROPPED_HTML_ROLES or tag.get("id") == "footer"
            or "footer" in (tag.get("class") or ()))


def load_pdf(data: bytes) -> LoadedText:
    """.pdf: text of each page, pages separated by a blank line; `pages` maps page numbers to offsets."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile(f"broken PDF ({type(exc).__name__}: {exc})") from None
    parts, pages, offset = [], [], 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        pages.append([number, offset, offset + len(page_text)])
        parts.append(page_text)
        offset += len(page_text)
    if not parts:
        raise UnreadableFile("PDF has no extractable text (scanned images need OCR)")
    return LoadedText("".join(parts), {"pages": pages})


LOADERS: dict[str, Callable[[bytes], LoadedText]] = {
    ".txt": load_plain_text,
    ".md": load_plain_text,
    ".markdown": load_plain_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}


def supported_formats() -> str:
    """The extensions ingest reads, for messages: ".txt, .md, .markdown, .html, .htm, .pdf"."""
    return ", ".join(LOADERS)


def loader_for(path: Path) -> Callable[[bytes], LoadedText] | None:
    """The loader for a file's extension, or None when the format is not supported."""
    return LOADERS.get(path.suffix.lower())


def page_of(offset: int, pages: list[list[int]]) -> int | None:
    """The PDF page number holding a character offset of the extracted text."""
    for number, start, end in pages:
        if offset < end or offset < start:
            return number
    return pages[-1][0] if pages else None
