"""Follow-up questions: whether a question leans on the conversation, and how it reads standing alone.

A question that names its own subject is used as written, at no cost. One that points back — a
pronoun with nothing in the question it can stand for, "this <noun>", "there", or a bare ellipsis
("Who is the chair?") — is rewritten: the model is asked, in the answer prompt's own format (so the
cached prefix serves both), which phrase of the conversation is meant, and that phrase is written
in place of the reference ("How tall is it?" → "How tall is the lighthouse at Varnholm?"). One that asks the last
question again of another name ("And str.rsplit?") is that question with the name replaced, without the model.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.abstention import model_abstained
from app.answering.answer_span import clean_answer
from app.answering.named_entry import CODE_NAME, code_names
from app.answering.prompt import build_messages
from app.answering.shape import asked_term
from index.types import Hit

REFERENT_TOKENS = 12  # the phrase the model copies: a name or a short noun phrase

PERSON = frozenset(["he", "him", "his", "she", "her", "hers"])
PLURAL = frozenset(["they", "them", "their", "theirs"])
_POSSESSIVE = frozenset(["his", "its", "their", "hers", "theirs"])
_PRONOUN = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs)\b", re.IGNORECASE)
_DEMONSTRATIVE = re.compile(r"\b(this|these|those)\s+(?!is\b|was\b|are\b|were\b|year\b|season\b|time\b|week\b|month\b)"
                            r"([a-z][\w-]*)", re.IGNORECASE)
_THERE = re.compile(r"\b(?:live|lived|go|went|born|die|died|happen|happened|get|located|found|built|held|spoken)"
                    r"\s+there\b|\bthere\s*[?.!]*\s*$", re.IGNORECASE)
_ELLIPSIS_OPENER = re.compile(r"^\s*(?:what about|how about|and|what else|also)\b", re.IGNORECASE)
# "What is it called when…", "What does it mean…": an "it" that stands for nothing.
_EMPTY_IT = re.compile(r"\b(?:is it called|does it mean|it is|is it that|it takes)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w'’-]+")
_STOP = frozenset("""is was has does this its his as us yes thus less always sometimes perhaps whereas""".split())


class HistoryTooLongError(ValueError):
    """A request's conversation history is over the limits of the settings (HTTP 422)."""


def check_history(history: Sequence, max_turns: int, max_chars: int) -> None:
    """Refuse a history over RAGQA_HISTORY_MAX_TURNS messages or RAGQA_HISTORY_MAX_CHARS characters."""
    if len(history) > max_turns:
        raise HistoryTooLongError(f"history: {len(history)} messages; at most {max_turns} messages are accepted "
                                  f"(RAGQA_HISTORY_MAX_TURNS): send the latest ones")
    chars = sum(len(turn.content) for turn in history)
    if chars > max_chars:
        raise HistoryTooLongError(f"history: {chars} characters; at most {max_chars} characters are accepted "
                                  f"(RAGQA_HISTORY_MAX_CHARS): send the latest messages")


@dataclass(frozen=True)
class Reference:
    """What in a question points back at the conversation: `pronoun` (with its word and span),
    `demonstrative` ("this edict"), `there`, or `ellipsis` (the subject left out)."""

    kind: str
    word: str = ""
    start: int = 0
    end: int = 0


def _named(word: str) -> bool:
    """A proper name, an acronym or a number: the question names something itself."""
    return word[:1].isupper() or word[:1].isdigit()


def _antecedent_before(question: str, position: int, pronoun: str) -> bool:
    """Something before `position` the pronoun can stand for (agreeing in number: "Grammys" is no "it")."""
    words = _WORD.findall(question[:position])[1:]  # the first word is capitalised anyway
    if pronoun in PLURAL:
        return any((_named(w) and w.endswith("s")) or (w.endswith("s") and len(w) > 3 and w.lower() not in _STOP)
                   for w in words)
    if pronoun in PERSON:
        return any(_named(w) for w in words)
    return any(_named(w) and not (w.endswith("s") and not w.isupper()) for w in words)


def reference_in(question: str) -> Reference | None:
    """What in the question refers to the conversation; None when it stands alone."""
    if _ELLIPSIS_OPENER.match(question):
        return Reference("ellipsis")
    for match in _PRONOUN.finditer(question):
        word = match.group(1).lower()
        if word == "it" and _EMPTY_IT.search(question):
            continue
        if not _antecedent_before(question, match.start(), word):
            return Reference("pronoun", match.group(1), match.start(), match.end())
    for match in _DEMONSTRATIVE.finditer(question):
        if not any(_named(w) for w in _WORD.findall(question[:match.start()])[1:]):
            return Reference("demonstrative", match.group(0), match.start(), match.end())
    match = _THERE.search(question)
    if match and not any(_named(w) for w in _WORD.findall(question[:match.start()])[1:]):
        return Reference("there", "there", match.start(), match.end())
    words = _WORD.findall(question)
    if len(words) <= 5 and not any(_named(w) for w in words[1:]):
        return Reference("ellipsis")  # "Who is the chair?", "What is the population?"
    return None


def recent_turns(history: Sequence, budget_chars: int) -> list:
    """The latest turns whose text fits `budget_chars` (oldest dropped first; the last one is always kept, cut)."""
    kept, used = [], 0
    for turn in reversed(history):
        if kept and used + len(turn.content) > budget_chars:
            break
        kept.append(turn)
        used += len(turn.content)
    return kept[::-1]


def conversation_text(turns: Sequence, budget_chars: int) -> str:
    lines = [f"{'Question' if t.role == 'user' else 'Answer'}: {' '.join(t.content.split())}" for t in turns]
    text = "\n".join(lines)
    return text[-budget_chars:] if len(text) > budget_chars else text


def referent_request(question: str, reference: Reference) -> str:
    """What the model is asked: which phrase of the conversation the reference means."""
    if reference.kind == "pronoun":
        word = reference.word.lower()
        what = "which person" if word in PERSON else "which people or group" if word in PLURAL else \
            "which thing, place or group"
        return f'In the new question "{question}", {what} is "{reference.word}"?'
    if reference.kind == "demonstrative":
        return f'In the new question "{question}", what is "{reference.word}"?'
    if reference.kind == "there":
        return f'In the new question "{question}", which place is "there"?'
    return f'The new question "{question}" is about which person, place or thing named before?'


def referent_messages(question: str, reference: Reference, conversation: str) -> list[dict[str, str]]:
    """The answer prompt (same system prompt and examples, so the same cached prefix) over the conversation."""
    passage = Hit(chunk_id=0, source="conversation", text=conversation, start=0, end=len(conversation),
                  score=0.0, similarity=0.0)
    return build_messages(referent_request(question, reference), [passage])


def referent_in(reply: str, conversation: str) -> str | None:
    """The model's phrase as the conversation writes it; None when it named nothing said there."""
    phrase = clean_answer(reply).strip(" .,:;\"'")
    if model_abstained(phrase) or not phrase or len(phrase.split()) > 10 or _PRONOUN.fullmatch(phrase):
        return None
    found = conversation.lower().find(phrase.lower())
    if found < 0:
        return None
    phrase = conversation[found:found + len(phrase)]
    return re.sub(r"^(?:Question|Answer):\s*", "", phrase) or None


_CAPITALISED = re.compile(r"(?:[A-Z][\w-]*|\d+)(?:\s+(?:(?:of|the|upon|de|von|van)\s+)*(?:[A-Z][\w-]*|\d+))*")
_OPENERS = frozenset("""what which who whom whose when where why how is are was were do does did has have had can could
will would should in on at of for to from by during after before since the a an name list give if and""".split())


def named_in(turns: Sequence) -> str | None:
    """The longest proper name of the latest user turn (a fallback when the model's reply is unusable)."""
    for turn in reversed(turns):
        if turn.role != "user":
            continue
        names = [name for match in _CAPITALISED.finditer(turn.content) if (name := _without_openers(match.group()))]
        if names:
            return max(names, key=lambda n: len(n.split()))
    return None


# "And str.rsplit?", "What about Python 2?", "How about the Normans?": the last question asked again of another name.
_ASKED_AGAIN = re.compile(r"^\s*(?:and|what about|how about|same for|and what about)\s+(?:the\s+)?(?P<name>[^?]+?)"
                          r"\s*[?.!]*\s*$", re.IGNORECASE)


def asked_again(question: str, turns: Sequence) -> str | None:
    """The latest user question with its one name of the kind the follow-up gives (a name written as code, or a
    capitalised name) replaced by the follow-up's ("What does str.split return?" + "And str.rsplit?" → "What does
    str.rsplit return?"); None when the follow-up gives no such name, or that question holds none or several."""
    match = _ASKED_AGAIN.match(question)
    previous = _last_question(turns)
    if match is None or not previous:
        return None
    name = match.group("name").strip()
    code = code_names(name)
    if code == [name.strip("`").removesuffix("()")]:  # a name written as code: it replaces the one written so
        name = code[0]
        spans = [_name_span(m) for m in CODE_NAME.finditer(previous)]
    elif _CAPITALISED.fullmatch(name):
        spans = [(m.start() + len(m.group()) - len(kept), m.end()) for m in _CAPITALISED.finditer(previous)
                 if (kept := _without_openers(m.group()))]
    else:
        return None
    if len(spans) != 1:
        return None
    start, end = spans[0]
    return previous[:start] + name + previous[end:]


def named_thing(question: str, reference: Reference, turns: Sequence) -> str | None:
    """The question with "it" / "its" replaced by the one name the latest user question writes as code ("What does
    RAGQA_MAX_NEW_TOKENS set?" + "What is its default?" → "What is RAGQA_MAX_NEW_TOKENS's default?"): what it asked
    about, whatever else its answer named; None otherwise."""
    if reference.kind != "pronoun" or reference.word.lower() not in ("it", "its"):
        return None
    names = code_names(_last_question(turns))
    return standalone(question, reference, names[0]) if len(names) == 1 else None


_WHICH_ONE = re.compile(r"^\s*which (?:one|of (?:them|the two|these|those|both))\b", re.IGNORECASE)


def which_of_them(question: str, turns: Sequence) -> str | None:
    """"Which one …?" after a question naming two things as code ("Which of json.dump and json.dumps …?"), or after two
    questions naming one each ("What does copy.deepcopy do?", "And copy.copy?"); None when the question asks no such
    thing or the last questions named other than two."""
    match = _WHICH_ONE.match(question)
    names = code_names(_last_question(turns))
    if len(names) == 1:
        earlier = code_names(_last_question(turns, 1))
        names = [*earlier, *names] if len(earlier) == 1 and earlier != names else names
    if match is None or len(names) != 2:
        return None
    return f"Which of {names[0]} and {names[1]}{question[match.end():]}"


# "one" that stands for a thing of the kind the last question asked about: "How do I make one?", not "which one".
_ONE = re.compile(r"(?<![\w'’-])(?<!which )(?<!the )(?<!this )(?<!that )(?<!each )(?<!every )(?<!no )(?<!any )(?<!than )"
                  r"one(?=\s*\?*\s*$)", re.IGNORECASE)


def one_of_its_kind(question: str, turns: Sequence) -> str | None:
    """"How do I make one?" after "What is a daemon thread?": "How do I make a daemon thread?" (the term the last
    question asked about); None when the question ends with no such "one" or the last question asked about no term."""
    match = _ONE.search(question)
    term = asked_term(_last_question(turns)) if match else None
    if term is None:
        return None
    article = "an" if term[:1].lower() in "aeiou" else "a"
    return f"{question[:match.start()]}{article} {term}{question[match.end():]}"


def _last_question(turns: Sequence, before: int = 0) -> str:
    """The latest user turn's text, or the one `before` turns before it ("" if none)."""
    asked = [t.content for t in turns if t.role == "user"]
    return asked[-1 - before] if len(asked) > before else ""


def _name_span(match: re.Match) -> tuple[int, int]:
    """Where a name written as code is, without its backticks or "()"."""
    start, end = match.span("quoted") if match.group("quoted") else match.span("name")
    return start, end - 2 if match.string[start:end].endswith("()") else end


def _without_openers(phrase: str) -> str:
    """A capitalised phrase without the question words that open it ("What", "In"); "" if nothing else."""
    words = phrase.split()
    while words and words[0].lower() in _OPENERS:
        words = words[1:]
    return " ".join(words) if words and not all(w.isdigit() for w in words) else ""


def _possessive(phrase: str) -> str:
    return phrase + ("'" if phrase.endswith("s") and not phrase.endswith("ss") else "'s")


def standalone(question: str, reference: Reference, referent: str) -> str:
    """The question with `referent` written where it pointed back."""
    before, after = question[:reference.start], question[reference.end:]
    if reference.kind == "pronoun":
        word = reference.word.lower()
        possessive = word in _POSSESSIVE or (word == "her" and _noun_follows(after))
        return before + (_possessive(referent) if possessive else referent) + after
    if reference.kind == "there":
        at = question.lower().rfind("there", reference.start, reference.end)
        return question[:at] + "in " + referent + question[at + len("there"):]
    if reference.kind == "demonstrative":
        noun = reference.word.split()[-1]
        if noun.lower() in referent.lower():
            return before + referent + after
        return before + f"the {noun} ({referent})" + after
    return f"{question.rstrip().rstrip('?.!').rstrip()} ({referent})?"


def _noun_follows(text: str) -> bool:
    following = _WORD.findall(text)[:1]
    return bool(following) and following[0].lower() not in {
        "to", "in", "on", "at", "for", "by", "with", "from", "and", "or", "as", "that", "when", "after", "before",
        "about", "into", "over"}
