"""``python -m harness.requirements``: summarise the catalogue and find requirement ids.

Without filters it prints counts per RFC, keyword and testability; with any filter it
lists the matching requirements (id, testable flag, sentence) for suite authors.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence

from harness.requirements._catalogue import KEYWORDS, Requirement, load_catalogue

__all__ = ["main", "select"]


def select(
    requirements: Iterable[Requirement],
    *,
    rfc: int | None = None,
    section: str | None = None,
    keyword: str | None = None,
    grep: str | None = None,
    testable: bool | None = None,
    exact_section: bool = False,
) -> list[Requirement]:
    """Filter requirements; ``section`` matches the section and its subsections."""
    pattern = re.compile(grep, re.IGNORECASE) if grep else None
    chosen = []
    for r in requirements:
        if rfc is not None and r.rfc != rfc:
            continue
        if section is not None:
            inside = r.section == section or (
                not exact_section and r.section.startswith(section + ".")
            )
            if not inside:
                continue
        if keyword is not None and r.keyword != keyword.upper():
            continue
        if testable is not None and r.testable != testable:
            continue
        haystack = " ".join(filter(None, (r.id, r.text, r.context, r.section_title)))
        if pattern is not None and not pattern.search(haystack):
            continue
        chosen.append(r)
    return chosen


def _summary(requirements: Sequence[Requirement]) -> str:
    header = f"{'':10}" + "".join(f"{k:>18}" for k in (*KEYWORDS, "all"))
    lines = [header, f"{'':10}" + f"{'testable/total':>18}" * (len(KEYWORDS) + 1)]
    for rfc in (*sorted({r.rfc for r in requirements}), None):
        row = f"{'RFC' + str(rfc) if rfc else 'both':10}"
        for keyword in (*KEYWORDS, None):
            group = [
                r
                for r in requirements
                if (rfc is None or r.rfc == rfc) and (keyword is None or r.keyword == keyword)
            ]
            row += f"{sum(r.testable for r in group):>11}/{len(group):<6}"
        lines.append(row)
    return "\n".join(lines)


def _sections(requirements: Sequence[Requirement]) -> str:
    """One line per section: testable/total per keyword, so authors see where checks are due."""
    rows: dict[tuple[int, str], list[Requirement]] = {}
    for r in requirements:
        rows.setdefault((r.rfc, r.section), []).append(r)
    lines = [f"{'section':16}" + "".join(f"{k:>8}" for k in KEYWORDS) + "  title"]
    for (rfc, section), group in rows.items():
        cells = ""
        for keyword in KEYWORDS:
            chosen = [r for r in group if r.keyword == keyword]
            cells += f"{sum(r.testable for r in chosen):>4}/{len(chosen):<3}" if chosen else " " * 8
        lines.append(f"{f'RFC{rfc} {section}':16}{cells}  {group[0].section_title}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:  # `| head` stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.requirements", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rfc", type=int, choices=(7643, 7644), help="only this RFC")
    parser.add_argument("--section", help="section number, e.g. 3.5.2 (includes subsections)")
    parser.add_argument("--exact", action="store_true", help="--section without subsections")
    parser.add_argument("--keyword", type=str.upper, choices=KEYWORDS, help="MUST/SHOULD/MAY")
    parser.add_argument("--grep", help="regular expression over id, sentence and context")
    flag = parser.add_mutually_exclusive_group()
    flag.add_argument("--testable", dest="testable", action="store_true", default=None)
    flag.add_argument("--untestable", dest="testable", action="store_false")
    parser.add_argument("--reasons", action="store_true", help="also print actor and reason")
    parser.add_argument(
        "--sections", action="store_true", help="testable/total per section and keyword"
    )
    args = parser.parse_args(argv)

    requirements = list(load_catalogue().values())
    filtered = any(
        v is not None for v in (args.rfc, args.section, args.keyword, args.grep, args.testable)
    )
    if args.sections:
        print(_sections(requirements))
        return 0
    if not filtered:
        print(_summary(requirements))
        return 0
    chosen = select(
        requirements,
        rfc=args.rfc,
        section=args.section,
        keyword=args.keyword,
        grep=args.grep,
        testable=args.testable,
        exact_section=args.exact,
    )
    for r in chosen:
        flag_text = "testable  " if r.testable else "untestable"
        context = f"[{r.context}] " if r.context else ""
        print(f"{r.id:28} {flag_text} {context}{r.text}")
        if args.reasons:
            print(f"{'':28} actor: {r.actor}" + (f"; reason: {r.reason}" if r.reason else ""))
    print(f"{len(chosen)} requirement(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
