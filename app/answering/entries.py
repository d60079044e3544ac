"""Entries of a reference in a document's text (an API's functions, a class's methods, a module's exceptions, a
program's options): the entries a question for several of a kind asks for, and an entry read as an answer sentence.

A reference lists its entries as definitions: a term, then what it is. The HTML loader writes a definition list's
entry as Markdown's definition lists do (`glob.glob(pathname, *, root_dir=None)` on one line, then ": Return a
possibly empty list …"); a Markdown or text file often gives a signature on a line of its own ("### shutil.copy(src,
dst)", "`copy(src, dst)`") and its description under it. Asked "Which functions does the glob module provide?", a
person expects the entries themselves, each name with what its description says first: "glob.glob(pathname, …) —
Return a possibly empty list of path names …", not the page's introduction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.text import sentence_spans

# Words a reference writes before a name to say what it is ("exception json.JSONDecodeError(msg, doc, pos)").
_KIND_WORDS = r"(?:class|exception|method|classmethod|staticmethod|abstractmethod|async|coroutine|function|def)"
# A term line as Markdown or text writes a signature: "shutil.copy(src, dst)", "### `Path.read_text(encoding=None)`",
# "- class pathlib.Path(*pathsegments)", "exception shutil.Error"; an optional return annotation.
_SIGNATURE = re.compile(
    rf"(?:#{{1,6}}[ \t]+|[-*+][ \t]+)?`?(?:(?:{_KIND_WORDS}[ \t]+)*[A-Za-z_][\w.]*\([^\n]*\)"
    r"(?:[ \t]*(?:->|→)[ \t]*[^\n`]+)?|(?:class|exception)[ \t]+[A-Za-z_][\w.]*)`?[ \t]*")
# A term then its definition after ": " on the next line (the HTML loader's definition lists, Markdown's own).
_DEFINITION = re.compile(r"(?:\A|(?<=\n\n))(?=[^\s:|])(?P<term>[^\n]+)\n(?:: (?=\S)|:(?P<block>\n|\Z))")
# A signature alone on its line at a paragraph's start, its description on the next line or after a blank line.
_SIGNATURE_LINE = re.compile(r"(?:\A|(?<=\n\n))(?P<term>[^\n]+)\n\n?(?=[A-Z])")
_TERM_MARKUP = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+)|`")
DESCRIPTION_CHARS = 600  # the most of a description read for its first sentence
SIGNATURE_CHARS = 60  # a longer signature is read with its first arguments only: "glob.glob(pathname, *, …)"

# What a question asks for, by the word it names them with, and the entries of that kind.
_ASKED_KIND = re.compile(
    r"\b(?P<kind>functions|methods|classes|exceptions|errors|warnings|attributes|constants|properties|options|flags)\b",
    re.IGNORECASE)
# Functions are a module's own ("glob.glob(…)") before unqualified callables ("decode(s)", a method under its class
# in a Sphinx page); methods a class's ("Path.read_text()") before them.
_KINDS_ASKED = {"functions": ({"function"}, {"callable"}, {"method"}),
                "methods": ({"method"}, {"callable"}, {"function"}),
                "classes": ({"class"},), "exceptions": ({"exception"},), "errors": ({"exception"},),
                "warnings": ({"exception"},), "attributes": ({"name"},), "constants": ({"name"},),
                "properties": ({"name"},), "options": ({"option"},), "flags": ({"option"},)}


@dataclass(frozen=True)
class Entry:
    """An entry of a document's text: [start, term_end) its term, [start, end) the term with the first sentence of
    its description (one verbatim span, an answer sentence's support)."""

    start: int
    term_end: int
    end: int
    kind: str  # "exception", "class", "method", "callable", "option" or "name"

    def term(self, text: str) -> str:
        return text[self.start:self.term_end]

    def name(self, text: str) -> str:
        """The term without its arguments: "glob.glob" of "glob.glob(pathname, *, root_dir=None)"."""
        return self.term(text).split("(", 1)[0]

    def description(self, text: str) -> str:
        """The first sentence of what the entry says."""
        return text[self.term_end:self.end].lstrip().removeprefix(": ")


@lru_cache(maxsize=16)  # a reference page (CPython's stdtypes: 160 kB, 19 ms) is read for each question naming it
def document_entries(document: str) -> tuple[Entry, ...]:
    """`entries_in` of a whole document, remembered for the latest documents read."""
    return tuple(entries_in(document))


def entries_in(text: str) -> list[Entry]:
    """The text's entries in reading order: each definition (a term, then ": " and what it is) and each signature
    line followed by its description."""
    found: dict[int, Entry] = {}
    for m in _DEFINITION.finditer(text):
        if m.group("block") is not None:  # its definition opens with entries or a block of its own: the term alone
            found[m.start("term")] = Entry(m.start("term"), m.end("term"), m.end("term"), _kind(m.group("term")))
            continue
        entry = _entry(text, m.start("term"), m.end("term"), m.end())
        if entry is not None:
            found[entry.start] = entry
    for m in _SIGNATURE_LINE.finditer(text):
        if m.start("term") not in found and _SIGNATURE.fullmatch(m.group("term")):
            entry = _entry(text, m.start("term"), m.end("term"), m.end())
            if entry is not None:
                found[entry.start] = entry
    return [found[start] for start in sorted(found)]


def _entry(text: str, start: int, term_end: int, description_start: int) -> Entry | None:
    """The entry whose description starts at `description_start`, ending with its first sentence; None when that is
    not prose (a code block, another term)."""
    window = text[description_start:description_start + DESCRIPTION_CHARS].split("\n\n", 1)[0]
    spans = sentence_spans(window, join_wrapped_lines=True)
    if not spans or spans[0][0] != 0 or len(re.findall(r"\w+", window[:spans[0][1]])) < 2:
        return None
    return Entry(start, term_end, description_start + spans[0][1], _kind(text[start:term_end]))


def _kind(term: str) -> str:
    term = _TERM_MARKUP.sub("", term).strip()
    first = term.split(maxsplit=1)[0] if term else ""
    if first in ("exception", "class"):
        return first
    if first.startswith("-"):
        return "option"
    if re.fullmatch(_KIND_WORDS, first):
        return "method"
    if "(" not in term:
        return "name"
    qualifier = term.split("(", 1)[0].rpartition(".")[0].rpartition(".")[2].split()[-1:]
    if not qualifier:
        return "callable"  # "decode(s)": a method under its class, or a function of a page that names no module
    return "method" if qualifier[0][:1].isupper() else "function"  # Path.read_text, glob.glob


def asked_kinds(question: str) -> tuple[set[str], ...] | None:
    """The kinds of entry a question names, the first that a document has being the ones it means ("Which functions
    …" → a module's functions, else callables, else methods); None when it names none."""
    m = _ASKED_KIND.search(question)
    return _KINDS_ASKED[m.group("kind").lower()] if m else None


def entries_of_kind(text: str, kinds: tuple[set[str], ...]) -> list[list[Entry]]:
    """The document's entries of each of the kinds asked for that it has, in the order asked (none: [])."""
    found = document_entries(text)
    groups = ([e for e in found if e.kind in kind] for kind in kinds)
    return [group for group in groups if group]


def is_entry(text: str) -> bool:
    """Whether `text` is an entry's term and the first sentence of its description (as `Entry` spans them)."""
    return opened_entry(text) is not None


def opened_entry(text: str) -> str | None:
    """The plain name of the entry whose term and first sentence `text` is (`plain_name`), else None."""
    text = text.strip()
    if "\n" not in text:  # a term has a line of its own
        return None
    found = entries_in(text)
    return plain_name(found[0].term(text)) if found and found[0].start == 0 else None


def plain_name(term: str) -> str:
    """An entry's name from its term: "str.split" of "str.split(sep=None, maxsplit=-1)", "functools.cache" of
    "@functools.cache(user_function)", "pathlib.Path" of
    "class pathlib.Path(*pathsegments)", "Path.read_text" of "### `Path.read_text(encoding=None)`"."""
    term = re.sub(rf"^(?:{_KIND_WORDS}\s+)+", "", _TERM_MARKUP.sub("", term.strip()).strip())
    return term.split("(", 1)[0].strip().lstrip("@")  # a decorator's: "@functools.lru_cache(…)"


def names_code(name: str) -> bool:
    """Whether an entry's plain name is an API's (a dotted identifier, an option), not a term in words ("PEP 305 - CSV
    File API", a see-also's)."""
    return _API_NAME.fullmatch(name) is not None


_API_NAME = re.compile(r"-{0,2}[\w.]+|\w[\w.]*\[\w+\]")


def entry_read(text: str) -> str:
    """An entry as an answer says it: its term without markup, then what its description says first
    ("glob.escape(pathname) — Escape all special characters ('?', '*' and '[').")."""
    text = text.strip()
    found = entries_in(text)
    if not found:  # a term alone (its definition opens with a block of its own): "class logging.Logger"
        return _shortened(" ".join(_TERM_MARKUP.sub("", text).split()))
    term = _shortened(" ".join(_TERM_MARKUP.sub("", found[0].term(text)).split()))
    return f"{term} — {' '.join(found[0].description(text).split())}"


def _shortened(signature: str) -> str:
    """A signature of at most about `SIGNATURE_CHARS`: a longer one cut after an argument, its rest an ellipsis."""
    if len(signature) <= SIGNATURE_CHARS or "(" not in signature:
        return signature
    cut = signature.rfind(", ", 0, SIGNATURE_CHARS)
    return signature[:cut] + ", …)" if cut > signature.find("(") else signature
