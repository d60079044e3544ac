"""A question for several of a kind over a reference is answered by its entries: each name with what it says first."""
from __future__ import annotations

import asyncio

import pytest

from app.answering.answerer import Answerer
from app.answering.entries import plain_name
from app.answering.explanation import as_read, explanation_evidence
from app.answering.named_entry import asked_names, named_entry_chunks, names_it
from app.answering.support import is_supported
from index.directory import IndexDirectory
from index.retrieval import Retriever
from index.types import Hit
from ingest.loaders import load_html
from ingest.pipeline import IngestPipeline

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


# A reference page longer than one chunk: its entries lie in several chunks, not all of which a search returns.
UUID_HTML = """<html><body><section><h1>uuid — UUID objects according to RFC 9562</h1>
<p>Source code: Lib/uuid.py</p>
<p>This module provides immutable UUID objects (the UUID class) and functions for generating UUIDs of a given version,
as specified in RFC 9562. If all you want is a unique ID, you should probably call uuid1() or uuid4(). Note that
uuid1() may compromise privacy since it creates a UUID containing the computer's network address. The uuid4()
function creates a random UUID.</p>
<dl class="py function"><dt class="sig sig-object py" id="uuid.getnode">uuid.getnode()</dt><dd><p>Get the hardware
address as a 48-bit positive integer. The first time this runs, it may launch a separate program, which could be quite
slow.</p><p>If all attempts to obtain the hardware address fail, we choose a random 48-bit number with the multicast bit
(least significant bit of the first octet) set to 1 as recommended in RFC 4122. The hardware address means the MAC
address of a network interface. On a machine with multiple network interfaces, universally administered MAC addresses
are preferred over locally administered MAC addresses, but with no other ordering guarantees.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid1">uuid.uuid1(node=None, clock_seq=None)</dt><dd>
<p>Generate a UUID from a host ID, sequence number, and the current time according to RFC 9562.</p><p>When node is not
specified, getnode() is used to obtain the hardware address as a 48-bit positive integer. When a sequence number
clock_seq is not specified, a pseudo-random 14-bit positive integer is generated. If node or clock_seq exceed their
expected bit count, only their least significant bits are kept. The time is counted in intervals of one hundred
nanoseconds since the adoption of the Gregorian calendar in October 1582.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid3">uuid.uuid3(namespace, name)</dt><dd><p>Generate a
UUID based on the MD5 hash of a namespace identifier (which is a UUID) and a name (which is a bytes object or a string
that will be encoded using UTF-8).</p><p>The same namespace and name always give the same UUID, which makes the result
reproducible across machines and runs. MD5 is no longer considered secure against collisions, so a name chosen by an
adversary may collide with another; prefer uuid5() for new identifiers. The namespace constants below name the usual
namespaces for domain names, URLs, object identifiers and X.500 distinguished names.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid4">uuid.uuid4()</dt><dd><p>Generate a random UUID in
a cryptographically-secure method.</p><p>All bits other than the version and variant fields come from the operating
system's source of randomness, so two calls practically never return the same value and nothing about the machine or the
time is revealed. This is the version most applications want when they need an identifier that nobody else will
choose by accident, such as a primary key generated by a client before it reaches the database.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid5">uuid.uuid5(namespace, name)</dt><dd><p>Generate a
UUID based on the SHA-1 hash of a namespace identifier (which is a UUID) and a name (which is a bytes object or a string
that will be encoded using UTF-8).</p><p>Like uuid3(), it is deterministic: the same namespace and name always give the
same UUID. Only the first sixteen bytes of the SHA-1 digest are used, and the version and variant bits overwrite six of
them. Use it to derive stable identifiers from names that already exist elsewhere, such as the URL of a resource or the
domain name of a host.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid6">uuid.uuid6(node=None, clock_seq=None)</dt><dd><p>
Generate a UUID from a sequence number and the current time according to RFC 9562.</p><p>This is an alternative to
uuid1() to improve database locality: the timestamp is stored with its most significant bits first, so identifiers
generated one after another sort in the order they were made. When node is not specified, a random 48-bit number is used
instead of the hardware address, so the result does not reveal the network address of the machine.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid7">uuid.uuid7()</dt><dd><p>Generate a time-based UUID
according to RFC 9562.</p><p>The first 48 bits hold the number of milliseconds since the Unix epoch, followed by a
counter and random bits, which guarantees that identifiers made within the same process increase monotonically. It is
the recommended choice for keys of a database index that grows in time, because new rows are appended near one
another rather than scattered across the whole index.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="uuid.uuid8">uuid.uuid8(a=None, b=None, c=None)</dt><dd><p>
Generate a pseudo-random UUID according to RFC 9562.</p><p>The three arguments are optional integers of 48, 12 and 62
bits that fill the custom blocks of the identifier; when one is not given, it is replaced by pseudo-random bits. The
version 8 layout leaves these blocks to the application, so it suits experiments and vendor-specific formats rather
than general use, and the values it produces are not suitable for cryptographic purposes.</p></dd></dl>
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


@pytest.fixture()
def uuid_answerer(tmp_path, embedder, chunker, generator, settings):
    """The answerer over an index of the uuid page (six chunks) that searches three passages for an explanation: a
    larger reference (CPython's own pages) searched for the default six leaves entries outside them as well."""
    index = _indexed(tmp_path, "uuid.html", UUID_HTML, embedder, chunker)
    yield Answerer(Retriever(index, embedder), generator, settings.model_copy(update={"explain_top_k": 3}))
    index.close()


def _indexed(tmp_path, name: str, text: str, embedder, chunker) -> IndexDirectory:
    """An index of one document, `name` holding `text`, ingested as `ragqa ingest` does."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / name).write_text(text, encoding="utf-8")
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs)
    return index


@pytest.mark.slow
def test_a_chunk_cited_for_an_entry_the_search_did_not_return_shows_its_own_closeness_to_the_question(uuid_answerer):
    question, top_k = "Which functions does the uuid module provide?", 3
    response = asyncio.run(uuid_answerer.ask(question, top_k))
    assert response.shape == "explain" and not response.abstained
    assert "uuid.uuid4() — Generate a random UUID in a cryptographically-secure method." in response.answer
    searched = uuid_answerer.retriever.search(question, max(top_k, uuid_answerer.settings.explain_top_k))
    unsearched = [c for c in response.citations if c.chunk_id not in {str(hit.chunk_id) for hit in searched}]
    assert unsearched  # the page's entries lie further on than the passages searched: cited all the same
    # As the page and the CLI show them, each such chunk reads as close to the question as its own stored vector is
    # (its cosine, the score dense mode ranks by): not "score 0.0000 · similarity 0.00", as if unrelated to the
    # question, nor the closeness of the one sentence that found the page.
    index, embedder = uuid_answerer.retriever.index, uuid_answerer.retriever.embedder
    question_vector = embedder.embed_queries([question])[0]
    for cited in unsearched:
        cosine = float(index.vectors.vectors_of([int(cited.chunk_id)])[0] @ question_vector)
        assert cosine > 0
        assert cited.similarity == pytest.approx(cosine, abs=1e-6) and cited.score == cited.similarity


# String methods as CPython's stdtypes page gives them: entries alike in their words.
STR_METHODS_HTML = """<html><body><section><h1>Text sequence type — str</h1>
<p>Strings implement all of the common sequence operations, along with the additional methods described below.</p>
<dl class="py method"><dt class="sig sig-object py" id="str.partition">str.partition(sep)</dt><dd><p>Split the string
at the first occurrence of sep, and return a 3-tuple containing the part before the separator, the separator itself,
and the part after the separator.</p><p>If the separator is not found, return a 3-tuple containing the string itself,
followed by two empty strings.</p></dd></dl>
<dl class="py method"><dt class="sig sig-object py" id="str.rsplit">str.rsplit(sep=None, maxsplit=-1)</dt><dd><p>Return
a list of the words in the string, using sep as the delimiter string.</p><p>Except for splitting from the right,
rsplit() behaves like split() which is described in detail below.</p></dd></dl>
<dl class="py method"><dt class="sig sig-object py" id="str.split">str.split(sep=None, maxsplit=-1)</dt><dd><p>Return a
list of the words in the string, using sep as the delimiter string. If maxsplit is given, at most maxsplit splits are
done.</p><p>If sep is not specified or is None, runs of consecutive whitespace are regarded as a single separator, and
the result will contain no empty strings at the start or end.</p></dd></dl>
<dl class="py method"><dt class="sig sig-object py" id="str.strip">str.strip([chars])</dt><dd><p>Return a copy of the
string with the leading and trailing characters removed.</p></dd></dl>
</section></body></html>"""


@pytest.mark.parametrize("question", ["What does str.split return?", "How does split() treat runs of whitespace?",
                                      "What does `str.split` do when sep is None?"])
def test_the_entry_a_question_names_answers_it_before_entries_like_it(embedder, question):
    text = load_html(STR_METHODS_HTML.encode()).text
    said = [as_read(s.text) for s in _explained(question, text, embedder, "stdtypes.html")]
    assert said[0] == ("str.split(sep=None, maxsplit=-1) — Return a list of the words in the string, using sep as the "
                       "delimiter string.")
    assert ("If sep is not specified or is None, runs of consecutive whitespace are regarded as a single separator, "
            "and the result will contain no empty strings at the start or end.") in said
    assert not any(s.startswith(("str.partition", "str.rsplit")) for s in said)


def test_names_are_read_as_a_person_writes_them_in_a_question():
    assert asked_names("What does str.split return?") == ["str.split"]
    assert asked_names("How do I use os.path.join() with `Path`?") == ["os.path.join", "Path"]
    assert asked_names("Why is read_text simpler than open?") == ["read_text"]
    assert asked_names("What does enumerate return?") == ["enumerate"]
    assert asked_names("What did the Normans build in Sicily?") == []
    assert names_it("pathlib.Path.read_text", "Path.read_text") and names_it("str.split", "split")
    assert not names_it("str.rsplit", "split")
    assert plain_name("@functools.lru_cache(maxsize=128, typed=False)") == "functools.lru_cache"  # a decorator
    assert plain_name("### `class pathlib.Path(*pathsegments)`") == "pathlib.Path"


# Mapping methods as CPython's stdtypes page gives them: under their class, by their bare names.
DICT_HTML = """<html><body><section><h1>Mapping types — dict</h1>
<p>A mapping object maps hashable values to arbitrary objects. Mappings are mutable objects.</p>
<dl class="py class"><dt class="sig sig-object py" id="dict">class dict(**kwargs)</dt><dd><p>Return a new dictionary
initialized from an optional positional argument and a possibly empty set of keyword arguments.</p>
<dl class="describe"><dt class="sig sig-object">d[key]</dt><dd><p>Return the item of d with key key. Raises a KeyError
if key is not in the map.</p><p>If a subclass of dict defines a method __missing__() and key is not present, the d[key]
operation calls that method with the key key as argument. The d[key] operation then returns or raises whatever is
returned or raised by the __missing__(key) call.</p></dd></dl>
<dl class="py method"><dt class="sig sig-object py" id="dict.get">get(key, default=None)</dt><dd><p>Return the value for
key if key is in the dictionary, else default. If default is not given, it defaults to None, so that this method never
raises a KeyError.</p></dd></dl>
<dl class="py method"><dt class="sig sig-object py" id="dict.pop">pop(key[, default])</dt><dd><p>If key is in the
dictionary, remove it and return its value, else return default. If default is not given and key is not in the
dictionary, a KeyError is raised.</p></dd></dl>
</dd></dl></section></body></html>"""


@pytest.fixture()
def dict_answerer(tmp_path, embedder, chunker, generator, settings):
    index = _indexed(tmp_path, "stdtypes.html", DICT_HTML, embedder, chunker)
    yield Answerer(Retriever(index, embedder), generator, settings)
    index.close()


def test_a_short_answer_reads_the_entry_the_question_names_first(dict_answerer):
    evidence, _ = dict_answerer.evidence("What does dict.get return when the key is missing?", 4)
    assert as_read(evidence[0].text) == (
        "get(key, default=None) — Return the value for key if key is in the dictionary, else default.")




COUNTER_HTML = """<html><body><section><h1>collections — Container datatypes</h1>
<dl class="py class"><dt class="sig sig-object py" id="collections.Counter">class collections.Counter([iterable-or-mapping])
</dt><dd><p>A Counter is a dict subclass for counting hashable objects. It is a collection where elements are stored as
dictionary keys and their counts are stored as dictionary values. Counts are allowed to be any integer value including
zero or negative counts.</p>
<p>Setting a count to zero does not remove an element from a counter. Use del to remove it entirely.</p>
<dl class="py method"><dt class="sig sig-object py" id="collections.Counter.elements">elements()</dt><dd><p>Return an
iterator over elements repeating each as many times as its count. Elements are returned in the order first
encountered. If an element's count is less than one, elements() will ignore it.</p></dd></dl>
<p>Several mathematical operations are provided for combining Counter objects. Addition and subtraction combine counters
by adding or subtracting the counts of corresponding elements. Each operation can accept inputs with signed counts,
but the output will exclude results with counts of zero or less.</p>
</dd></dl></section></body></html>"""


def test_a_how_to_question_over_a_reference_is_answered_with_the_entry_that_does_it(embedder, tmp_path, chunker):
    index = _indexed(tmp_path, "collections.html", COUNTER_HTML, embedder, chunker)
    retriever = Retriever(index, embedder)
    question = "How do I count how many times each item appears in a list?"
    hits = retriever.search(question, 6)
    chosen = explanation_evidence(question, hits, embedder, 4, 0.3, document_text=index.store.document_text,
                                  rare_words=retriever.rare_word_weights(question))
    index.close()
    assert ("class collections.Counter([iterable-or-mapping]) — A Counter is a dict subclass for counting hashable "
            "objects.") in [as_read(s.text) for s in chosen]



def test_the_chunks_of_a_named_entrys_description_are_found_wherever_the_search_found_its_page():
    text = load_html(STR_METHODS_HTML.encode()).text
    searched = [Hit(chunk_id=0, source="stdtypes.html", text=text[:250], start=0, end=250, score=1, similarity=0.5)]

    def chunk_of(source: str, offset: int) -> int:  # chunks of 250 characters
        return offset // 250

    start, end = text.index("str.split("), text.index("str.strip(")  # the entry, to the next one
    ids = named_entry_chunks("What does str.split return?", searched, lambda source: text, chunk_of)
    assert ids == list(range(start // 250, (end - 1) // 250 + 1))
    assert named_entry_chunks("What does str.casefold return?", searched, lambda source: text, chunk_of) == []


TWO_CLASSES_HTML = """<html><body><section><h1>collections — Container datatypes</h1>
<dl class="py class"><dt>class collections.Counter([iterable-or-mapping])</dt><dd><p>A Counter is a dict subclass for
counting hashable objects.</p>
<dl class="py method"><dt>elements()</dt><dd><p>Return an iterator over elements repeating each as many times as its
count.</p></dd></dl>
<dl class="py method"><dt>most_common([n])</dt><dd><p>Return a list of the n most common elements and their counts.</p>
</dd></dl></dd></dl>
<dl class="py class"><dt>class collections.OrderedDict([items])</dt><dd><p>Return an instance of a dict subclass that
has methods specialized for rearranging dictionary order.</p>
<dl class="py method"><dt>popitem(last=True)</dt><dd><p>The popitem() method for ordered dictionaries returns and
removes a (key, value) pair.</p></dd></dl>
<dl class="py method"><dt>move_to_end(key, last=True)</dt><dd><p>Move an existing key to either end of an ordered
dictionary, such as a Counter's keys.</p></dd></dl></dd></dl>
</section></body></html>"""


def test_the_methods_of_a_class_the_question_names_are_those_listed_under_it(embedder):
    text = load_html(TWO_CLASSES_HTML.encode()).text
    said = [as_read(s.text) for s in _explained("Which methods does Counter provide?", text, embedder,
                                                "collections.html")]
    assert [s.split("(")[0] for s in said] == ["elements", "most_common"]


TESTCASE_HTML = """<html><body><section><h1>unittest — Unit testing framework</h1>
<dl class="py class"><dt>class unittest.TestCase(methodName='runTest')</dt><dd><p>Instances of the TestCase class
represent the logical test units.</p>
<dl class="py method"><dt>setUp()</dt><dd><p>Method called to prepare the test fixture.</p></dd></dl>
<dl class="py method"><dt>classmethod setUpClass()</dt><dd><p>A class method called before tests in a class run.</p>
</dd></dl>
<dl class="py method"><dt>assertEqual(first, second, msg=None)</dt><dd><p>Test that first and second are equal.</p>
</dd></dl>
<dl class="py method"><dt>assertTrue(expr, msg=None)</dt><dd><p>Test that expr is true.</p></dd></dl>
</dd></dl></section></body></html>"""


def test_the_word_that_tells_entries_apart_is_looked_for_in_their_names_across_the_kinds_asked_for(embedder):
    text = load_html(TESTCASE_HTML.encode()).text  # (setUpClass is a "classmethod"; the others are plain callables)
    said = [as_read(s.text) for s in _explained("Which assert methods does TestCase provide?", text, embedder,
                                                "unittest.html")]
    assert [s.split("(")[0] for s in said] == ["assertEqual", "assertTrue"]
