"""Load the RFC 7643/7644 requirements catalogue and compute the coverage checks give it.

The catalogue is package data (``catalogue.json``), read once through importlib.resources,
so a run needs neither the RFC texts nor pytest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "KEYWORDS",
    "Coverage",
    "Requirement",
    "Tally",
    "coverage",
    "load_catalogue",
    "section_key",
    "unknown_ids",
]

Keyword = Literal["MUST", "SHOULD", "MAY"]
KEYWORDS: tuple[Keyword, ...] = ("MUST", "SHOULD", "MAY")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One keyword-bearing sentence of RFC 7643 or RFC 7644."""

    id: str
    rfc: int
    section: str
    section_title: str
    keyword: Keyword
    keywords_in_sentence: tuple[str, ...]
    text: str
    actor: str
    testable: bool
    reason: str | None = None
    context: str | None = None
    notes: str | None = None

    @property
    def section_key(self) -> str:
        return section_key(self.rfc, self.section)


def section_key(rfc: int, section: str) -> str:
    """The name a section has in coverage reports, e.g. ``RFC7644 3.5.2.1``."""
    return f"RFC{rfc} {section}"


@cache
def _load() -> Mapping[str, Requirement]:
    raw = resources.files(__package__).joinpath("catalogue.json").read_text(encoding="utf-8")
    entries: list[dict[str, Any]] = json.loads(raw)["requirements"]
    catalogue = {
        e["id"]: Requirement(
            id=e["id"],
            rfc=e["rfc"],
            section=e["section"],
            section_title=e["section_title"],
            keyword=e["keyword"],
            keywords_in_sentence=tuple(e["keywords_in_sentence"]),
            text=e["text"],
            actor=e["actor"],
            testable=e["testable"],
            reason=e.get("reason"),
            context=e.get("context"),
            notes=e.get("notes"),
        )
        for e in entries
    }
    return MappingProxyType(catalogue)


def load_catalogue() -> Mapping[str, Requirement]:
    """All requirements by id, in document order (RFC 7643 first); read once per process."""
    return _load()


def unknown_ids(ids: Iterable[str]) -> list[str]:
    """The ids that name no requirement, sorted, so a check citing a typo fails loudly."""
    catalogue = load_catalogue()
    return sorted({i for i in ids if i not in catalogue})


@dataclass(slots=True)
class Tally:
    """Counts for one group of requirements; ``share`` is exercised / testable."""

    total: int = 0
    testable: int = 0
    exercised: int = 0

    @property
    def share(self) -> float | None:
        return self.exercised / self.testable if self.testable else None

    def add(self, requirement: Requirement, hit: bool) -> None:
        self.total += 1
        if requirement.testable:
            self.testable += 1
            if hit:
                self.exercised += 1

    def to_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "total": self.total,
            "testable": self.testable,
            "exercised": self.exercised,
            "share": None if share is None else round(share, 4),
        }


@dataclass(slots=True)
class Coverage:
    """Which testable requirements at least one check exercised, overall and by group.

    Exercised untestable requirements are listed apart (a check may observe part of one)
    and do not count towards ``share``; ids outside the catalogue land in ``unknown``.
    """

    overall: Tally = field(default_factory=Tally)
    by_rfc: dict[str, Tally] = field(default_factory=dict)
    by_section: dict[str, Tally] = field(default_factory=dict)
    by_keyword: dict[str, Tally] = field(default_factory=dict)
    by_rfc_keyword: dict[str, Tally] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    exercised_untestable: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def table(tallies: dict[str, Tally]) -> dict[str, Any]:
            return {name: tally.to_dict() for name, tally in tallies.items()}

        return {
            "overall": self.overall.to_dict(),
            "by_rfc": table(self.by_rfc),
            "by_keyword": table(self.by_keyword),
            "by_rfc_keyword": table(self.by_rfc_keyword),
            "by_section": table(self.by_section),
            "missed": list(self.missed),
            "exercised_untestable": list(self.exercised_untestable),
            "unknown": list(self.unknown),
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def coverage(exercised_ids: Iterable[str]) -> Coverage:
    """Coverage of the catalogue by the requirement ids the run's checks exercised."""
    catalogue = load_catalogue()
    hit = set(exercised_ids)
    result = Coverage(
        by_keyword={k: Tally() for k in KEYWORDS},
        unknown=sorted(i for i in hit if i not in catalogue),
    )
    for requirement in catalogue.values():
        exercised = requirement.id in hit
        rfc = f"RFC{requirement.rfc}"
        result.overall.add(requirement, exercised)
        result.by_rfc.setdefault(rfc, Tally()).add(requirement, exercised)
        result.by_keyword[requirement.keyword].add(requirement, exercised)
        result.by_rfc_keyword.setdefault(f"{rfc} {requirement.keyword}", Tally()).add(
            requirement, exercised
        )
        result.by_section.setdefault(requirement.section_key, Tally()).add(requirement, exercised)
        if requirement.testable and not exercised:
            result.missed.append(requirement.id)
        elif exercised and not requirement.testable:
            result.exercised_untestable.append(requirement.id)
    return result
