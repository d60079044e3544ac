"""Two-question conversations built from a SQuAD question set, to measure follow-up questions.

A *follow-up* pair: the first question names a subject (a proper name, or the article's own
subject), and the second is another question of the same article about that subject, rewritten to
refer back to it: by a pronoun ("How old was Manning when…" → "How old was he when…"; "Tesla's
first job" → "his first job") or by leaving it out ("What is the population of Warsaw?" →
"What is the population?"). Its standalone form is the original question, so a follow-up can be
scored beside the same question asked alone. An *unrelated* pair: the second question is one of
another article, asked after a first question it has nothing to do with; it must be answered as
if alone. Built deterministically from a seed; nothing is tuned to single questions.
"""
from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.answering.answerer import Answerer
from app.answering.followup import reference_in
from app.schemas import Turn
from bench.squad import Question, f1

# Words that open questions (and are capitalised for that reason only).
_OPENERS = frozenset("""what which who whom whose when where why how is are was were do does did has have had can
could will would should in on at of for to from by during after before since under with as the a an name
list give if according besides other although despite along while among between there""".split())
_JOINERS = frozenset(["of", "the", "upon", "de", "von", "van", "and", "&"])
_PREPOSITIONS = frozenset("""of to for by with in on at from about against than into over under between among
during after before through like behind""".split())
# A capitalised run: "Super Bowl 50", "Peyton Manning", "University of Chicago", "Apollo 11".
_CAPITALISED = re.compile(r"\b(?:[A-Z][\w\-]*|\d+)(?:\s+(?:(?:of|the|upon|de|von|van|and|&)\s+)*(?:[A-Z][\w\-]*|\d+|[IVX]+\b))*")


@dataclass(frozen=True)
class Conversation:
    """Two turns: the first question, then `followup` (what the user types second).

    `standalone` is the same second question written to stand alone (for an unrelated pair,
    `followup == standalone.question`). `kind` is `pronoun`, `ellipsis` or `unrelated`.
    """

    first: Question
    followup: str
    standalone: Question
    kind: str
    subject: str | None


def _subjects(question: str, title_phrase: str) -> list[tuple[int, int]]:
    """Character spans of the question's subject phrases: proper names and the article's subject,
    where a pronoun can stand for the whole phrase (not "German poet", "a pharmacy technician")."""
    spans = []
    lowered = question.lower()
    found = lowered.find(title_phrase) if title_phrase else -1
    if found >= 0:
        spans.append((found, found + len(title_phrase)))
    for match in _CAPITALISED.finditer(question):
        words = match.group().split()
        while words and (words[0].lower() in _OPENERS or words[0].lower() in _JOINERS):  # "What", "In", ...
            words = words[1:]
        while words and words[-1].lower() in _JOINERS:
            words = words[:-1]
        if not words or all(w.isdigit() for w in words):
            continue
        start = match.start() + match.group().index(words[0])
        end = _end_of(question, start, words)
        if not any(s < end and start < e for s, e in spans):
            spans.append((start, end))
    return sorted(span for span in spans if _stands_alone(question, *span))


_DETERMINERS = frozenset("a an any this that these those each every some no another".split())
_FUNCTION = frozenset("""is are was were be been being has have had do does did can could will would should may might
must of to for by with in on at from about against than into over under between among during after before through
and or but as that which who whom whose when where why how what if while since because so than ? , . ; : !""".split())


def _stands_alone(question: str, start: int, end: int) -> bool:
    """The phrase is a whole noun phrase: not inside quotes, not a modifier of the next word."""
    before, after = question[:start], question[end:]
    if before.count('"') % 2 or after[:1] in "+-/":
        return False
    previous = (re.findall(r"[\w']+", before.lower()) or [""])[-1]
    if previous in _DETERMINERS:
        return False
    if previous and previous not in _FUNCTION and previous not in _OPENERS and previous != "the" \
            and not previous.endswith(("ing", "ed", "s")):
        return False  # "cultural imperialism": an adjective before it
    following = re.match(r"\s*([\w']+|[^\w\s])?", after).group(1) or ""
    if following.lower() in _FUNCTION or not following or following in ("'s", "'", "’"):
        return True
    if after.startswith(("'s", "’s")):
        return True
    auxiliary = previous in ("did", "does", "do", "can", "could", "would", "will", "should", "has", "have", "had",
                             "was", "were", "is", "are")
    return auxiliary or following.lower().endswith(("ed", "ing"))


def _end_of(question: str, start: int, words: Sequence[str]) -> int:
    position = start
    for word in words:
        position = question.index(word, position) + len(word)
    return position


def _title_phrase(title: str) -> str:
    """'Fresno,_California' → 'fresno'; 'Sky_(United_Kingdom)' → 'sky'; 'Oxygen' → 'oxygen'."""
    phrase = re.sub(r"\(.*?\)", "", title).split(",")[0].replace("_", " ").strip().lower()
    return phrase if len(phrase) >= 4 else ""


def _pronoun_class(subject: str, article_text: str) -> str:
    """`person-m`, `person-f`, `plural` or `thing`, from how the article refers to the subject."""
    head = subject.split()[-1]
    if head.endswith("s") and not head.endswith("ss") and subject[:1].isupper() and len(subject.split()) == 1:
        return "plural"  # Broncos, Normans, Huguenots
    if subject.lower().startswith("the ") and head.endswith("s") and not head.endswith("ss"):
        return "plural"
    split = re.split(r"(?<=[.!?])\s+", article_text)
    sentences = [s for s in split if head in s]
    counts: Counter[str] = Counter()
    for n, sentence in enumerate(split):  # a sentence naming the subject, and the one after it
        if head not in sentence and (n == 0 or head not in split[n - 1]):
            continue
        for word in re.findall(r"\b\w+\b", sentence.lower()):
            if word in ("he", "his", "him"):
                counts["person-m"] += 1
            elif word in ("she", "her", "hers"):
                counts["person-f"] += 1
    capitalised_words = [w for w in subject.split() if w[:1].isupper()]
    looks_like_name = 1 <= len(capitalised_words) <= 3 and not any(ch.isdigit() for ch in subject)
    if looks_like_name and counts:
        kind, n = counts.most_common(1)[0]
        if n >= 2 and sum(counts.values()) >= 0.3 * len(sentences):
            return kind
    return "thing"


_FORMS = {  # subject, object, possessive
    "person-m": ("he", "him", "his"),
    "person-f": ("she", "her", "her"),
    "plural": ("they", "them", "their"),
    "thing": ("it", "it", "its"),
}


def refer_back(question: str, start: int, end: int, kind: str) -> tuple[str, str] | None:
    """The question with the subject at [start, end) referred to by a pronoun, or left out; and how."""
    before, after = question[:start], question[end:]
    the = re.search(r"\bthe\s+$", before, re.IGNORECASE)
    if the:
        before = before[:the.start()]
    subject_form, object_form, possessive = _FORMS[kind]
    if re.match(r"['’]s?(?!\w)", after):  # "Tesla's first job" → "his first job"
        return before + possessive + re.sub(r"^['’]s?(?!\w)", "", after), "pronoun"
    previous = re.findall(r"[\w']+", before.lower())[-1:] or [""]
    tail = after.strip()
    if previous[0] in ("of", "in", "for", "at") and re.fullmatch(r"[?.!]*", tail):
        # "What is the population of Warsaw?" → "What is the population?"
        cut = re.search(r"\s*\b(of|in|for|at)\s+$", before, re.IGNORECASE)
        if cut and len(re.findall(r"\w+", before[:cut.start()])) >= 3:
            return before[:cut.start()] + after, "ellipsis"
    if previous[0] in _PREPOSITIONS or (previous[0] and previous[0] not in _OPENERS and not before.strip() == ""):
        form = object_form if previous[0] in _PREPOSITIONS or _is_verb_like(previous[0]) else subject_form
    else:
        form = subject_form
    rewritten = before + form + after
    if not before.strip():
        rewritten = rewritten[0].upper() + rewritten[1:]
    return rewritten, "pronoun"


def _is_verb_like(word: str) -> bool:
    return word.endswith("ed") or word in ("did", "does", "do", "beat", "defeat", "win", "won", "call", "make", "made")


def build(questions: Sequence[Question], articles: dict[str, str], pairs: int, unrelated: int,
          seed: int = 0) -> list[Conversation]:
    """`pairs` follow-up conversations and `unrelated` ones; `articles` maps a title to its text."""
    rng = random.Random(seed)
    by_title: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        by_title[question.title].append(question)
    candidates: list[Conversation] = []
    for title, asked in sorted(by_title.items()):
        phrase = _title_phrase(title)
        for second in asked:
            for start, end in _subjects(second.question, phrase):
                subject = second.question[start:end]
                pattern = re.compile(r"\b" + re.escape(subject) + r"\b", re.IGNORECASE)
                if len(pattern.findall(second.question)) != 1:
                    continue
                firsts = [q for q in asked if q.id != second.id and pattern.search(q.question)]
                if not firsts:
                    continue
                made = refer_back(second.question, start, end, _pronoun_class(subject, articles.get(title, "")))
                if made is None or pattern.search(made[0]):
                    continue
                candidates.append(Conversation(rng.choice(sorted(firsts, key=lambda q: q.id)), made[0], second,
                                               made[1], subject))
    rng.shuffle(candidates)
    chosen, seen = [], set()
    per_title: Counter[str] = Counter()
    cap = max(2, pairs // max(1, len(by_title)) + 2)  # spread over the articles
    for conversation in candidates:
        if len(chosen) >= pairs:
            break
        if conversation.standalone.id in seen or per_title[conversation.standalone.title] >= cap:
            continue
        seen.add(conversation.standalone.id)
        per_title[conversation.standalone.title] += 1
        chosen.append(conversation)
    titles = sorted(by_title)
    for _ in range(unrelated):
        first_title, second_title = rng.sample(titles, 2)
        first, second = rng.choice(by_title[first_title]), rng.choice(by_title[second_title])
        chosen.append(Conversation(first, second.question, second, "unrelated", None))
    return chosen


# --- measuring -----------------------------------------------------------------------------------
def _turns(question: str, answer: str) -> list[Turn]:
    return [Turn(role="user", content=question), Turn(role="assistant", content=answer)]


def evaluate(runner: asyncio.Runner, answerer: Answerer, conversations: Sequence[Conversation], top_k: int,
             recall_at: int, bar) -> dict:
    """Answer F1 and answer-recall@k of the follow-ups (in their conversation, alone, and written standalone),
    the share of unrelated second questions whose retrieval is unchanged, and the rewrite's latency.

    The first question is answered by the answerer too, and that answer is the history's assistant turn.
    """
    scores: dict[str, list[tuple[float, bool]]] = {"standalone": [], "conversation": [], "alone": []}
    rewrites, rewrite_ms, generation_ms, embedding_ms = Counter(), [], [], []
    unchanged = []

    def top(question: str) -> list:
        return answerer.retriever.search(question, recall_at)

    for conversation in conversations:
        # The first question is answered as a user would have seen it; its answer is read only by a rewrite, so a
        # second question that stands alone (no reference: no rewrite, no model call) does not need it.
        needs_context = reference_in(conversation.followup) is not None
        embedding_ms.append(_embedding_ms(answerer, conversation.followup))
        first = runner.run(answerer.ask(conversation.first.question, top_k)).answer if needs_context else "(unread)"
        history = _turns(conversation.first.question, first)
        if conversation.kind == "unrelated":
            standalone, ms = runner.run(answerer.standalone_question(conversation.followup, history))
            rewrites["unrelated"] += standalone != conversation.followup
            unchanged.append([h.chunk_id for h in top(standalone)] == [h.chunk_id for h in top(conversation.followup)])
            if ms is not None:
                rewrite_ms.append(ms)
            bar.update(1)
            continue
        gold = conversation.standalone.answers
        for row, question, turns in (("standalone", conversation.standalone.question, []),
                                     ("conversation", conversation.followup, history),
                                     ("alone", conversation.followup, [])):
            if row == "alone" and not needs_context:  # asked exactly as in its conversation: the same outcome
                scores[row].append(scores["conversation"][-1])
                continue
            response = runner.run(answerer.ask(question, top_k, history=turns))
            answer_f1 = 0.0 if response.abstained else f1(response.answer, gold)
            found = any(any(g in h.text for g in gold) for h in top(response.standalone_question))
            scores[row].append((answer_f1, found))
            if row == "conversation":
                rewrites["followup"] += response.standalone_question != question
                if "rewrite" in response.timings_ms:
                    rewrite_ms.append(response.timings_ms["rewrite"])
            if "generation" in response.timings_ms:
                generation_ms.append(response.timings_ms["generation"])
        bar.update(1)
    followups = len(scores["standalone"])
    report: dict = {"followups": followups, "unrelated": len(unchanged)}
    for row, values in scores.items():
        report[f"{row}_f1"] = _mean(v[0] for v in values)
        report[f"{row}_recall@{recall_at}"] = _mean(v[1] for v in values)
    report["followups_rewritten"] = round(rewrites["followup"] / followups, 4) if followups else None
    report["unrelated_rewritten"] = round(rewrites["unrelated"] / len(unchanged), 4) if unchanged else None
    report["unrelated_unchanged_retrieval"] = _mean(unchanged)
    report["rewrite_ms_p50"], report["rewrite_ms_p95"] = _percentiles(rewrite_ms)
    report["generation_ms_p50"] = _percentiles(generation_ms)[0]  # references measured in the same run
    report["query_embedding_ms_p50"] = _percentiles(embedding_ms)[0]
    return report


def _embedding_ms(answerer: Answerer, question: str) -> float:
    """One query embedding, the unit a rewrite by retrieval is made of (the reference measured in the same run)."""
    started = time.perf_counter()
    answerer.retriever.embedder.embed_queries([question])
    return (time.perf_counter() - started) * 1000


class NoGenerator:
    """Stands in for the generator when only rewrites are measured: a generation would be a mistake."""

    name = "none"

    def generate_batch(self, requests):
        raise RuntimeError("--followups-rewrite-only makes no generation (RAGQA_FOLLOWUP_REWRITE=model needs one)")


def evaluate_rewrites(runner: asyncio.Runner, answerer: Answerer, conversations: Sequence[Conversation],
                      recall_at: int, bar) -> dict:
    """The rewrite alone, no answers generated: answer-recall@k of the follow-ups as searched (rewritten),
    as typed and written standalone, unrelated pairs' unchanged retrieval, and the rewrite's latency beside one
    query embedding's. The history's answer is the first question's gold answer (no generator is needed)."""
    found: dict[str, list[bool]] = {"standalone": [], "conversation": [], "alone": []}
    rewrite_ms, embedding_ms, unchanged, rewritten = [], [], [], Counter()

    def ids(question: str) -> list[int]:
        return [h.chunk_id for h in answerer.retriever.search(question, recall_at)]

    for conversation in conversations:
        history = _turns(conversation.first.question, conversation.first.answers[0])
        embedding_ms.append(_embedding_ms(answerer, conversation.followup))
        searched, ms = runner.run(answerer.standalone_question(conversation.followup, history))
        if ms is not None:
            rewrite_ms.append(ms)
        rewritten[conversation.kind == "unrelated"] += searched != conversation.followup
        if conversation.kind == "unrelated":
            unchanged.append(ids(searched) == ids(conversation.followup))
        else:
            gold = conversation.standalone.answers
            for row, question in (("standalone", conversation.standalone.question), ("conversation", searched),
                                  ("alone", conversation.followup)):
                found[row].append(any(any(g in h.text for g in gold)
                                      for h in answerer.retriever.search(question, recall_at)))
        bar.update(1)
    followups = len(found["standalone"])
    report: dict = {"followups": followups, "unrelated": len(unchanged)}
    for row, values in found.items():
        report[f"{row}_recall@{recall_at}"] = _mean(values)
    report["followups_rewritten"] = round(rewritten[False] / followups, 4) if followups else None
    report["unrelated_rewritten"] = round(rewritten[True] / len(unchanged), 4) if unchanged else None
    report["unrelated_unchanged_retrieval"] = _mean(unchanged)
    report["rewrite_ms_p50"], report["rewrite_ms_p95"] = _percentiles(rewrite_ms)
    report["query_embedding_ms_p50"] = _percentiles(embedding_ms)[0]
    return report


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4) if values else None


def _percentiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p95 = np.percentile(values, [50, 95])
    return round(float(p50), 1), round(float(p95), 1)


def markdown(report: dict, recall_at: int) -> str:
    """The follow-up table: F1 (when answers were generated) and recall beside the same questions standalone, then
    unrelated pairs, and the rewrite's latency beside references measured in the same run."""
    r = report
    with_f1 = "standalone_f1" in r
    lines = [f"Follow-ups: {r['followups']} two-question conversations, {r['unrelated']} unrelated pairs", "",
             f"| second question |{' F1 |' if with_f1 else ''} answer-recall@{recall_at} |",
             f"|---|{'---:|' if with_f1 else ''}---:|"]
    for row, label in (("standalone", "written standalone (reference)"), ("conversation", "follow-up, with history"),
                       ("alone", "follow-up, without history")):
        f1_cell = f" {r[f'{row}_f1']} |" if with_f1 else ""
        lines.append(f"| {label} |{f1_cell} {r[f'{row}_recall@{recall_at}']} |")
    lines += ["", "| measure | value |", "|---|---:|",
              f"| follow-ups rewritten | {r['followups_rewritten']} |",
              f"| unrelated second questions rewritten | {r['unrelated_rewritten']} |",
              f"| unrelated: top-{recall_at} retrieval unchanged | {r['unrelated_unchanged_retrieval']} |",
              f"| rewrite ms p50 / p95 | {r['rewrite_ms_p50']} / {r['rewrite_ms_p95']} |",
              f"| one query embedding ms p50 (same run) | {r['query_embedding_ms_p50']} |"]
    if r.get("generation_ms_p50") is not None:
        lines.append(f"| answer generation ms p50 (same run) | {r['generation_ms_p50']} |")
    for name, key in (("query embedding", "query_embedding_ms_p50"), ("answer generation", "generation_ms_p50")):
        if r.get("rewrite_ms_p50") and r.get(key):
            lines.append(f"| rewrite p50 / {name} p50 | {r['rewrite_ms_p50'] / r[key]:.2f} |")
    return "\n".join(lines)
