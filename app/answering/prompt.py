"""The extractive prompt: instruction, worked examples, the passages numbered best last, and the question."""
from __future__ import annotations

import re
from collections.abc import Sequence

from index.types import Hit

# Short, extractive answers: small models stay grounded when they copy a phrase rather than write
# prose, and the quote (app.answering.citations) gives the reader the whole supporting sentence.
SYSTEM_PROMPT = (
    "Answer the question using only the passages. Reply with the shortest exact phrase copied from the "
    "passages that answers it (a name, number, date or short phrase), without a full sentence or explanation. "
    "If the passages do not contain the answer, reply: I don't know."
)
# Worked examples, shown to the model as earlier turns (measured in bench/RESULTS.md): a fact,
# and a how-to whose answer is the instruction itself.
EXAMPLES = (
    ("Whose company designed the Eiffel Tower?",
     "The Eiffel Tower was completed in 1889 as the entrance arch of the World's Fair in Paris. "
     "It was designed by the engineering company of Gustave Eiffel and is 330 metres tall.",
     "Gustave Eiffel"),
    ("How do I reset the router?",
     "The router has two lights on its front. To reset the router, hold the reset button for ten seconds. "
     "Resetting erases the saved Wi-Fi password.",
     "hold the reset button for ten seconds"),
)


def passages_within(hits: Sequence[Hit], max_context_chars: int) -> list[Hit]:
    """The best hits whose text fits the prompt budget (always at least one)."""
    kept, used = [], 0
    for hit in hits:
        if kept and used + len(hit.text) > max_context_chars:
            break
        kept.append(hit)
        used += len(hit.text)
    return kept


# Chat-template control tokens (<|im_start|>, <|eot_id|>, ...): written in a document or a question they
# would be read as real turn boundaries, letting the text forge a system turn. They are removed.
_CONTROL_TOKEN = re.compile(r"<\|[^|<>\s]{1,40}\|>")


def as_data(text: str) -> str:
    """Text from a document or a user, stripped of chat-template control tokens."""
    return _CONTROL_TOKEN.sub("", text)


def _user_turn(question: str, passages: Sequence[str]) -> str:
    numbered = [f"[{n}] {as_data(text)}" for n, text in enumerate(passages, start=1)]
    return "Passages:\n\n" + "\n\n".join(numbered) + f"\n\nQuestion: {as_data(question)}"


def build_messages(question: str, passages: Sequence[Hit]) -> list[dict[str, str]]:
    """Instruction, worked examples, then the passages numbered [1]..[n] and the question.

    Passages come best first; the prompt lists them best *last*, nearest the question, which
    small models use more reliably.
    """
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for example_question, example_passage, example_answer in EXAMPLES:
        messages.append({"role": "user", "content": _user_turn(example_question, [example_passage])})
        messages.append({"role": "assistant", "content": example_answer})
    messages.append({"role": "user", "content": _user_turn(question, [hit.text for hit in reversed(passages)])})
    return messages
