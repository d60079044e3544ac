"""A list held in a table is answered by the table's rows: each item beside what it says, quoted verbatim."""
from __future__ import annotations

from app.answering.explanation import as_read, explanation_evidence
from app.answering.support import is_supported
from app.answering.tables import table_read
from index.types import Hit
from ingest.loaders import load_html

LEVELS_HTML = """<html><body><section><h2>When to use logging</h2>
<p>The logging functions are named after the level or severity of the events
they are used to track. The standard levels and their applicability are
described below (in increasing order of severity):</p>
<table class="docutils align-default"><thead><tr class="row-odd"><th class="head"><p>Level</p></th>
<th class="head"><p>When it\u2019s used</p></th></tr></thead><tbody>
<tr class="row-even"><td><p><code class="docutils literal"><span class="pre">DEBUG</span></code></p></td>
<td><p>Detailed information, typically of interest
only when diagnosing problems.</p></td></tr>
<tr class="row-odd"><td><p><code class="docutils literal"><span class="pre">INFO</span></code></p></td>
<td><p>Confirmation that things are working as
expected.</p></td></tr>
<tr class="row-even"><td><p><code class="docutils literal"><span class="pre">WARNING</span></code></p></td>
<td><p>An indication that something unexpected
happened. The software is still working as expected.</p></td></tr>
<tr class="row-odd"><td><p><code class="docutils literal"><span class="pre">ERROR</span></code></p></td>
<td><p>Due to a more serious problem, the software
has not been able to perform some function.</p></td></tr>
<tr class="row-even"><td><p><code class="docutils literal"><span class="pre">CRITICAL</span></code></p></td>
<td><p>A serious error, indicating that the program
itself may be unable to continue running.</p></td></tr>
</tbody></table>
<p>The default level is WARNING, which means that only events of this level
and above will be tracked.</p></section></body></html>"""

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _explained(question: str, text: str, embedder, source: str = "logging.html") -> list[Hit]:
    hit = Hit(chunk_id=1, source=source, text=text, start=0, end=len(text), score=1, similarity=0.6)
    chosen = explanation_evidence(question, [hit], embedder, 4, 0.3)
    assert all(text[s.start:s.end] == s.text for s in chosen)  # verbatim spans of the document
    return chosen


def test_the_sentence_that_leads_into_a_table_brings_every_row_read_as_item_and_what_it_says(embedder):
    text = load_html(LEVELS_HTML.encode()).text
    chosen = _explained("What are the logging levels?", text, embedder)
    [listed] = [s for s in chosen if "| DEBUG |" in s.text]
    said = as_read(listed.text)
    assert said.startswith("The logging functions are named after the level or severity of the events")
    assert "severity): DEBUG — Detailed information, typically of interest only when diagnosing problems; INFO — " in said
    assert all(f"{level} — " in said for level in LEVELS)  # every row, each with what it says
    assert "Level — When" not in said  # not the header
    assert "| INFO |" not in "".join(s.text for s in chosen if s is not listed)  # the rows are not said twice
    assert is_supported(said, [listed.text])  # the support check passes: the rows hold every word


def test_a_markdown_table_after_a_colon_is_listed_without_its_header_and_separator(embedder):
    text = ("# The index directory\n\nAn index directory holds these files:\n\n| File | Content |\n| --- | --- |\n"
            "| `chunks.sqlite` | The source of truth: documents, chunks and their embeddings. |\n"
            "| `dense.faiss` | The vectors keyed by chunk id. |\n"
            "| `ragqa-index.json` | A description written at the end of each ingest run. |\n\n"
            "Nothing else is written there.")
    chosen = _explained("Which files does an index directory hold?", text, embedder, "architecture.md")
    said = [as_read(s.text) for s in chosen]
    assert ("An index directory holds these files: `chunks.sqlite` — The source of truth: documents, chunks and their "
            "embeddings; `dense.faiss` — The vectors keyed by chunk id; `ragqa-index.json` — A description written at "
            "the end of each ingest run.") in said


def test_a_table_too_long_to_read_whole_is_listed_by_its_items():
    long = "Scientific notation with a precision given by the user, and digits after the decimal point. " * 4
    table = "| Type | Meaning |\n|---|---|\n" + "".join(f"| '{t}' | {long} |\n" for t in "eEfFgG")
    assert table_read(table) == "'e', 'E', 'f', 'F', 'g', 'G'."
    assert table_read("| 'b' | Binary format. |\n| 'd' | Decimal. |") == "'b' — Binary format; 'd' — Decimal."
