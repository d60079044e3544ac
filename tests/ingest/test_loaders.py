"""Loaders turn each format into text, and refuse bad files with a reason a person can act on."""
from __future__ import annotations

import pytest

from core.text import sentence_spans
from ingest.loaders import UnreadableFile, load_html, load_pdf, load_plain_text, loader_for, page_of
from tests.pdf_maker import make_pdf


def test_plain_text_is_kept_exactly_including_crlf_and_unicode():
    text = "Line one.\r\nZweite Zeile — naïve café ☕.\r\n"
    assert load_plain_text(text.encode("utf-8")).text == text


def test_utf8_bom_and_utf16_are_decoded():
    assert load_plain_text(b"\xef\xbb\xbfhello").text == "hello"
    assert load_plain_text("grüße".encode("utf-16")).text == "grüße"


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"  \n\t ", "empty"), (b"\x00\x01\x02binary", "binary"), (b"caf\xe9 au lait", "not UTF-8")],
)
def test_bad_text_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(UnreadableFile, match=reason):
        load_plain_text(data)


def test_html_keeps_visible_text_and_drops_scripts_and_styles():
    html = (b"<html><head><title>Guide</title><style>body{color:red}</style></head><body>"
            b"<script>var secret = 1;</script><h1>Install</h1><p>Run <b>make</b> run.</p>"
            b"<noscript>enable js</noscript><ul><li>one</li><li>two</li></ul></body></html>")
    loaded = load_html(html)
    # a heading and each list item: a paragraph of its own, never read as one sentence with the next; an item marked
    assert loaded.text.splitlines() == ["Install", "", "Run make run.", "", "- one", "", "- two"]
    assert "secret" not in loaded.text and "color" not in loaded.text and "enable js" not in loaded.text
    assert loaded.metadata["title"] == "Guide"


def test_html_drops_the_sites_navigation_and_footer_but_keeps_the_page():
    html = (b"<html><body><nav>Home | Blog</nav><div class='related' role='navigation'>next | previous</div>"
            b"<header><h1>Release notes</h1></header><div role='main'><p>Version 2 reads PDF files.</p></div>"
            b"<div role='search'>Quick search</div><div class='footer'>Copyright 2026</div>"
            b"<footer>Made with a generator</footer></body></html>")
    assert load_html(html).text.splitlines() == ["Release notes", "", "Version 2 reads PDF files."]


def test_html_drops_the_permalink_marks_of_headings_but_keeps_links_with_words():
    html = (b"<html><body><h2>Creating Virtual Environments<a class='headerlink' href='#creating'>\xc2\xb6</a></h2>"
            b"<p>See <a href='#venv'>the venv module</a> and <a href='#fn1'>[1]</a>.</p></body></html>")
    assert load_html(html).text.splitlines() == ["Creating Virtual Environments", "", "See the venv module and [1]."]


def test_html_list_items_are_read_apart_not_as_one_sentence():
    html = (b"<html><body><ul><li>12. Virtual Environments and Packages<ul><li>12.1. Introduction</li>"
            b"<li>12.2. Creating Virtual Environments</li></ul></li></ul><p>Each item stands alone.</p></body></html>")
    text = load_html(html).text
    assert [text[a:b] for a, b in sentence_spans(text, join_wrapped_lines=True)] == [
        "- 12. Virtual Environments and Packages", "- 12.1. Introduction", "- 12.2. Creating Virtual Environments",
        "Each item stands alone."]


def test_html_table_rows_are_read_as_markdown_rows_each_item_beside_what_it_says():
    html = ("<html><body><p>The standard levels are described below:</p><table><thead><tr><th>Level</th>"
            "<th>When it’s used</th></tr></thead><tbody><tr><td><p><code>DEBUG</code></p></td><td><p>Detailed "
            "information, typically of interest\nonly when diagnosing problems.</p></td></tr><tr><td><p><code>INFO"
            "</code></p></td><td><p>Confirmation that things are working as\nexpected.</p></td></tr><tr><td></td><td>"
            "</td></tr></tbody></table><p>The default level is WARNING.</p></body></html>").encode()
    text = load_html(html).text
    assert text.splitlines() == [
        "The standard levels are described below:", "",
        "| Level | When it’s used |", "|---|---|",  # a header row is marked as Markdown marks it
        "| DEBUG | Detailed information, typically of interest only when diagnosing problems. |",
        "| INFO | Confirmation that things are working as expected. |", "",  # not the row of empty cells
        "The default level is WARNING."]
    # a row never runs into the next ("DEBUG Detailed information … problems. INFO …")
    assert "| INFO | Confirmation that things are working as expected." in [
        text[a:b] for a, b in sentence_spans(text, join_wrapped_lines=True)]


def test_html_table_nested_in_a_cell_stays_in_that_cell():
    html = (b"<table><tr><td>outer</td><td><table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table></td></tr>"
            b"<tr><td>last</td><td>row</td></tr></table>")
    assert load_html(html).text.splitlines() == ["| outer | a b c |", "| last | row |"]


def test_html_without_visible_text_is_refused():
    with pytest.raises(UnreadableFile, match="no visible text"):
        load_html(b"<html><script>x()</script></html>")


def test_pdf_text_and_page_numbers():
    loaded = load_pdf(make_pdf(["The first page talks about apples.", "The second page talks about pears."]))
    assert "apples" in loaded.text and "pears" in loaded.text
    pears_at = loaded.text.index("pears")
    assert page_of(pears_at, loaded.metadata["pages"]) == 2
    assert page_of(loaded.text.index("apples"), loaded.metadata["pages"]) == 1


@pytest.mark.parametrize("data", [b"%PDF-1.4 this is not really a pdf", make_pdf(["truncated page text"])[:120]])
def test_broken_pdf_is_refused_with_a_reason(data):
    with pytest.raises(UnreadableFile, match="PDF"):
        load_pdf(data)


def test_formats_are_chosen_by_extension(tmp_path):
    assert loader_for(tmp_path / "a.TXT") is load_plain_text
    assert loader_for(tmp_path / "b.htm") is load_html
    assert loader_for(tmp_path / "c.pdf") is load_pdf
    assert loader_for(tmp_path / "d.docx") is None


def test_html_a_label_is_not_read_as_the_start_of_the_sentence_after_it():
    html = (b"<html><body><p>Source code: Lib/venv/</p><p>The venv module creates\nenvironments.</p>"
            b"<div class='admonition note'><p class='admonition-title'>Note</p><p>Daemon threads stop abruptly.</p>"
            b"</div></body></html>")
    text = load_html(html).text
    assert [text[a:b] for a, b in sentence_spans(text, join_wrapped_lines=True)] == [
        "Source code: Lib/venv/", "The venv module creates\nenvironments.", "Note", "Daemon threads stop abruptly."]


def test_html_definition_list_entries_read_as_a_term_then_its_definition():
    html = ('<html><body><p>The glob module finds pathnames.</p><dl class="py function"><dt class="sig" id="glob.glob">'
            '<span class="pre">glob.</span><span class="pre">glob</span>(<em>pathname</em>,\n<em>*</em>, '
            '<em>recursive=False</em>)<a class="headerlink" href="#glob.glob">¶</a></dt><dd><p>Return a possibly empty '
            'list of path names that match\npathname.</p><p>Broken symlinks are included.</p></dd></dl>'
            '<dl class="py class"><dt>class pathlib.Path</dt><dd><dl class="py method"><dt>Path.read_text()</dt><dd>'
            '<p>Return the decoded contents.</p></dd></dl></dd></dl></body></html>').encode()
    assert load_html(html).text.splitlines() == [
        "The glob module finds pathnames.", "",
        "glob.glob(pathname, *, recursive=False)",  # the term on one line, though wrapped in the page's source
        ": Return a possibly empty list of path names that match", "pathname.", "Broken symlinks are included.", "",
        "class pathlib.Path", ":", "",  # a definition that opens with entries of its own
        "Path.read_text()", ": Return the decoded contents."]
