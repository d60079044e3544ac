"""The referent of a follow-up, chosen without the model: the phrases of the conversation a reference can
stand for, each written into the question, and the one whose question the documents answer best.

Candidates are the names and noun phrases of the latest turns (the user's questions and the service's
short answers), kept only when they agree with the reference ("he" wants a name, "there" a place, "this
edict" an edict where one is named). Each candidate's question is embedded (one batch) and searched;
the candidate whose question finds the best-matching passage wins, and a person pronoun must agree
with how that passage refers to the name (he / she). If no candidate's question is found better than
the question as written, the question stands as written: it was not a follow-up after all.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.abstention import NOT_IN_DOCUMENTS, model_abstained
from app.answering.followup import PERSON, PLURAL, Reference, standalone
from app.answering.named_entry import code_names
from core.text import STOPWORDS, words_of
from index.retrieval import Retriever

MAX_CANDIDATES = 8
# A rewrite must find a passage this much better (hybrid score: cosine + rare-word share) than the question
# as written; else the question is taken to stand alone (bench/RESULTS.md, issue 13).
MARGIN = 0.05
# A short answer to a "who" question is a person, to a "where" question a place: what "she" or "there" may mean; an
# API an answer names as code ("functools.lru_cache") is what "it" may mean.
ANSWER_PRIOR = 0.2

_MASCULINE = frozenset(["he", "him", "his"])
_FEMININE = frozenset(["she", "her", "hers"])
_CAPITALISED = re.compile(r"(?:[A-Z][\w'’-]*|\d[\w-]*)(?:\s+(?:(?:of|the|upon|de|von|van|and|&)\s+)*"
                          r"(?:[A-Z][\w'’-]*|\d[\w-]*))*")
_TOKEN = re.compile(r"[\w'’-]+|[^\w\s]")
# Words no phrase the question points back to is made of: question words, auxiliaries, prepositions,
# determiners, pronouns, and the verbs questions are built around.
_FUNCTION = frozenset("""a an the this that these those some any each every no other another what which who whom whose
when where why how is are was were be been being am has have had do does did can could will would should may might
must shall of to for by with in on at from about against than into over under between among during after before
through like behind since until upon within without across along around toward towards and or but nor so as if
then there here it its he him his she her hers they them their theirs we us our you your i me my not also only
just very more most much many few several first last one ones name names named called call give list tell say said
according known used use make made get got take took happen happened become became begin began""".split())
_OPENERS = frozenset("""what which who whom whose when where why how is are was were do does did has have had can
could will would should in on at of for to from by during after before since the a an name list give if and""".split())
_NOUN_PHRASE_OPENERS = frozenset("""the a an of in on at for about by with from to into its his her their our
my your this that these those""".split())
_PLURAL_END = re.compile(r"(?<!s)s$|ies$|people$|men$|children$", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A phrase of the conversation: `recency` 0 for the latest turn, 1 for the one before, …"""

    phrase: str
    recency: int
    role: str
    named: bool  # a proper name (capitalised or a number), not a common noun phrase
    answers: str = ""  # "person" or "place": a short answer to a "who" or "where" question; "thing": an API it names


def candidates(turns: Sequence, limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The phrases of the latest turns a reference can stand for, latest first, names before noun phrases."""
    found: list[Candidate] = []
    seen: set[str] = set()
    exchange = 0
    asked = {n: _asks_for(turns[n - 1].content) for n, t in enumerate(turns)
             if t.role == "assistant" and n and turns[n - 1].role == "user"}
    for n, turn in reversed(list(enumerate(turns))):
        text = " ".join(turn.content.split())
        if turn.role == "assistant" and (text == NOT_IN_DOCUMENTS or model_abstained(text)):
            continue  # "The documents do not contain…" names nothing
        if turn.role == "assistant" and len(text.split()) > 40:
            phrases = _names(text)[:4]  # a long answer: only its names
        else:
            phrases = _names(text) + _noun_phrases(text)
        # An API the user named, or else the one the answer to them named ("How do I cache …?" → lru_cache): what
        # "it" may be.
        code = code_names(text)[:4]
        if turn.role == "assistant" and n and turns[n - 1].role == "user" and code_names(turns[n - 1].content):
            code = []
        phrases = [(name, True) for name in code] + phrases
        short = turn.role == "assistant" and 0 < len(text.split()) <= 6
        if short:  # a short answer is a phrase itself
            phrases.insert(0, (text.rstrip(".!"), text[:1].isupper() or text[:1].isdigit()))
        for phrase, named in phrases:
            key = phrase.lower().removeprefix("the ")
            if key in seen or len(phrase) > 80:
                continue
            seen.add(key)
            answers = "thing" if phrase in code else asked.get(n, "") if short else ""
            found.append(Candidate(phrase, exchange, turn.role, named, answers))
        exchange += turn.role == "user"  # a question and its answer are one exchange
        if len(found) >= limit * 2:
            break
    return found


def _asks_for(question: str) -> str:
    """"person" for a question asking who, "place" for one asking where; else ""."""
    first = (re.findall(r"[a-z]+", question.lower()) or [""])[0]
    return "person" if first in ("who", "whom") else "place" if first == "where" else ""


def _names(text: str) -> list[tuple[str, bool]]:
    """Proper names ("Super Bowl 50", "University of Chicago"), a possessive cut off; and a name with the
    common noun it qualifies ("Amazon rainforest", "Civil disobedience")."""
    names = []
    for match in _CAPITALISED.finditer(text):
        words = re.split(r"(?<=\w)['’]s?(?=\s|$)", match.group())[0].split()  # "Apollo 1's crew" → "Apollo 1"
        while words and words[0].lower() in _OPENERS:
            words = words[1:]
        while words and words[-1].lower() in ("of", "the", "and", "&"):
            words = words[:-1]
        if words and not all(w.isdigit() for w in words) and not (len(words) == 1 and words[0].lower() in _FUNCTION):
            name = " ".join(words)
            names.append((name, True))
            nouns = []
            for word in re.match(r"(?:\s+[a-z][\w-]*){0,2}", text[match.end():]).group().split():
                if word in _FUNCTION or len(word) < 3:
                    break
                nouns.append(word)
            if nouns and not re.search(r"['’]s?$", match.group()):
                article = "the " if re.search(r"\bthe\s+$", text[:match.start()], re.IGNORECASE) else ""
                names.append((article + " ".join([name, *nouns]), False))  # "Riverside chess club", "Amazon rainforest"
    return names


def _noun_phrases(text: str) -> list[tuple[str, bool]]:
    """Runs of lower-case content words where a noun phrase starts (after an article, a preposition or a
    possessive): "the atomic number", "oxygen" in "… of oxygen?"; at most three words."""
    tokens = _TOKEN.findall(text)
    phrases, run, article = [], [], ""
    for n, token in enumerate(tokens + ["."]):
        if run and len(run) < 3 and re.fullmatch(r"[\w'’-]+", token) and token.lower() not in _FUNCTION \
                and not token[:1].isupper():
            run.append(token)
            continue
        if run:
            phrases.append(article + " ".join(run))
            run = []
        previous = tokens[n - 1].lower() if n else ""
        if n < len(tokens) and previous in _NOUN_PHRASE_OPENERS and re.fullmatch(r"[a-z][\w'’-]*", token) \
                and token not in _FUNCTION:
            article = "the " if previous == "the" else ""
            run = [token]
    return [(p, False) for p in phrases]


def agrees(reference: Reference, candidate: Candidate) -> bool:
    """Whether the candidate can be what the reference stands for, from its form alone."""
    word = reference.word.lower()
    if reference.kind == "pronoun" and word in PERSON:
        return candidate.named and not candidate.phrase[:1].isdigit()
    if reference.kind == "pronoun" and word in PLURAL:
        # "the Broncos", "pharmacy technicians", or a group named by a common noun ("Riverside chess club")
        return bool(_PLURAL_END.search(candidate.phrase)) or candidate.phrase.split()[-1].islower()
    if reference.kind == "there":
        return candidate.named and not candidate.phrase[:1].isdigit()
    if reference.kind == "demonstrative":
        noun = reference.word.split()[-1].lower().rstrip("s")
        return candidate.named or noun in candidate.phrase.lower()
    return True


def _gender(passage: str, phrase: str) -> str | None:
    """How a passage refers to a name: "m" or "f" when its sentences naming it (and the next) say so twice."""
    head = phrase.split()[-1]
    sentences = re.split(r"(?<=[.!?])\s+", passage)
    counts = {"m": 0, "f": 0}
    for n, sentence in enumerate(sentences):
        if head in sentence or (n and head in sentences[n - 1]):
            for w in re.findall(r"\w+", sentence.lower()):
                counts["m"] += w in _MASCULINE
                counts["f"] += w in _FEMININE
    best = max(counts, key=counts.get)
    return best if counts[best] >= 2 and counts[best] > 2 * counts["m" if best == "f" else "f"] else None


def _content_stems(text: str) -> set[str]:
    """The first five letters of each content word: "population", "populated" → "popul"."""
    return {w[:5] for w in words_of(text) if w not in STOPWORDS and w not in _FUNCTION and len(w) > 2}


@dataclass(frozen=True)
class Choice:
    """The question as it will be searched, the referent written into it (None: as written), and why."""

    question: str
    referent: str | None
    scores: dict[str, float]


def choose(question: str, reference: Reference, turns: Sequence, retriever: Retriever,
           margin: float = MARGIN) -> Choice:
    """The candidate whose question the index answers best, or the question as written."""
    options = [c for c in candidates(turns) if agrees(reference, c)][:MAX_CANDIDATES]
    if not options:
        return Choice(question, None, {})
    texts = [question] + [standalone(question, reference, c.phrase) for c in options]
    vectors = retriever.embedder.embed_queries(texts)
    best_hits = [(retriever.search_by_vector(t, v, 1) or [None])[0] for t, v in zip(texts, vectors)]
    scores = {text: (hit.score if hit else 0.0) for text, hit in zip(texts, best_hits)}
    word = reference.word.lower() if reference.kind == "pronoun" else ""
    wants = "person" if word in PERSON else "place" if reference.kind == "there" else "thing" if word in ("it", "its") \
        else ""
    # An ellipsis ("What is the population?") has few words of its own: the candidate could carry the search alone.
    # Its passage must then speak of both: the question's own words and the candidate.
    own = _content_stems(question) if reference.kind == "ellipsis" else set()
    ranked = []
    for option, text, hit in zip(options, texts[1:], best_hits[1:]):
        if hit is None:
            continue
        about_it = bool(_content_stems(option.phrase) & _content_stems(hit.text))
        if own and not (own & _content_stems(hit.text) and about_it):
            continue  # the passage it finds is about one of them only
        if word in _MASCULINE | _FEMININE:
            gender = _gender(hit.text, option.phrase)
            if gender and gender != ("m" if word in _MASCULINE else "f"):
                continue
        score = hit.score + (ANSWER_PRIOR if wants and option.answers == wants else 0.0)
        # The question as written already finds the passage that speaks of the candidate: a follow-up about it.
        same = best_hits[0] is not None and hit.chunk_id == best_hits[0].chunk_id and about_it
        ranked.append((score, -option.recency, same, option, text))
    if not ranked:
        return Choice(question, None, scores)
    score, _, same, option, text = max(ranked, key=lambda r: (r[0], r[1]))
    if score < scores[question] + margin and not same:
        return Choice(question, None, scores)
    return Choice(text, option.phrase, scores)
