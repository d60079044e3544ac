"""A seeded, reproducible folder of varied documents (.txt, .md, .html, odd names) that can be edited round by round."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

_PLACES = ["Varnholm", "Kessel", "Orrin Bay", "Lindqvist", "Marrow Fen", "Tallis", "Quarry Hill", "Saltmere",
           "Eastwick", "Brannock", "Holloway", "Pellinor"]
_SUBJECTS = ["the harbour authority", "the town archive", "the rowing club", "the seed library", "the night market",
             "the clockmakers' guild", "the glass museum", "the ferry company", "the weather station", "the choir"]
_VERBS = ["was founded", "was rebuilt", "moved to a new hall", "published its first almanac", "opened a second branch",
          "restored its oldest ledger", "changed its charter", "doubled its membership", "won a regional prize"]
_DETAILS = ["after a long winter of debate", "with money raised at the autumn fair", "under the direction of a retired pilot",
            "despite a flood in the lower streets", "while the bridge was closed for repairs", "with help from three schools",
            "following a vote of the whole council", "to the surprise of its neighbours"]
_NAMES = ["Ada Brook", "Marta Kowalski", "Ilse Varga", "Tomas Rhee", "Noor Haddad", "Eli Sørensen", "June Okafor",
          "Pieter Vos", "Ana Lucía Prieto", "Kwame Mensah"]
_SUFFIXES = [".txt", ".md", ".html", ".txt", ".md"]


def _paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(3, 6)):
        year = rng.randint(1820, 2020)
        sentences.append(f"In {year} {rng.choice(_SUBJECTS)} of {rng.choice(_PLACES)} {rng.choice(_VERBS)} "
                         f"{rng.choice(_DETAILS)}; {rng.choice(_NAMES)} kept the minutes.")
    return " ".join(sentences)


def token(number: int, version: int) -> str:
    """A word that occurs in exactly one version of one document: searching it finds that document."""
    return f"zq{number}x{version}k"


def render(number: int, version: int, suffix: str, seed: int) -> str:
    rng = random.Random(f"{seed}-{number}-{version}")
    title = f"Chronicle {number} of {rng.choice(_PLACES)}"
    paragraphs = [_paragraph(rng) for _ in range(rng.randint(2, 5))]
    paragraphs.insert(rng.randint(0, len(paragraphs)), f"The catalogue token of this chronicle is {token(number, version)}.")
    if suffix == ".html":
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    if suffix == ".md":
        return f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
    return title + "\n\n" + "\n\n".join(paragraphs) + "\n"


def _name(number: int, suffix: str) -> str:
    if number % 11 == 3:
        return f"odd names/chronicle {number} (copy) é–ü{suffix}"  # spaces, brackets, accents, a dash
    if number % 7 == 0:
        return f"volume-{number % 3}/chronicle-{number}{suffix}"
    return f"chronicle-{number}{suffix}"


@dataclass
class Corpus:
    """Documents numbered from 0; `versions[number]` is the version each one is at, None once deleted."""

    folder: Path
    seed: int
    versions: dict[int, int | None] = field(default_factory=dict)

    def path(self, number: int) -> Path:
        return self.folder / _name(number, _SUFFIXES[number % len(_SUFFIXES)])

    def source(self, number: int) -> str:
        return self.path(number).relative_to(self.folder).as_posix()

    def write(self, number: int) -> None:
        path = self.path(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(number, self.versions[number], path.suffix, self.seed), encoding="utf-8")

    def create(self, count: int) -> "Corpus":
        for number in range(count):
            self.versions[number] = 0
            self.write(number)
        return self

    def edit(self, rng: random.Random, changes: int, deletions: int, additions: int) -> None:
        """Change, delete and add documents, as a user editing the folder between two runs would."""
        alive = sorted(n for n, v in self.versions.items() if v is not None)
        changed = rng.sample(alive, changes)
        for number in changed:
            self.versions[number] += 1
            self.write(number)
        for number in rng.sample([n for n in alive if n not in changed], deletions):
            self.path(number).unlink()
            self.versions[number] = None
        for _ in range(additions):
            number = max(self.versions) + 1
            self.versions[number] = 0
            self.write(number)

    def alive(self) -> dict[str, int]:
        """{source: number} of the documents now in the folder."""
        return {self.source(n): n for n, v in self.versions.items() if v is not None}
