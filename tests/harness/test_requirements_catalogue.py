"""The RFC requirements catalogue: well-formed, faithful to the RFC texts, and its API works."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness.requirements import (
    KEYWORDS,
    Requirement,
    coverage,
    load_catalogue,
    section_key,
    unknown_ids,
)
from harness.requirements import __main__ as cli
from harness.requirements._extract import KEYWORD_RE, build_catalogue, normalise_keyword

REPO = Path(__file__).resolve().parents[2]
RFC_DIR = Path(os.environ.get("SCIM_RFC_DIR", REPO / "docs" / "rfc"))
RFCS = (7643, 7644)
needs_rfc_texts = pytest.mark.skipif(
    not all((RFC_DIR / f"rfc{n}.txt").is_file() for n in RFCS),
    reason=f"RFC 7643/7644 texts not found in {RFC_DIR} (set SCIM_RFC_DIR to check the "
    "catalogue against them)",
)
_STRENGTH = {"MUST": 0, "SHOULD": 1, "MAY": 2}


def _package_json(name: str) -> Any:
    text = resources.files("harness.requirements").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document: dict[str, Any] = _package_json("catalogue.json")
    return document


@pytest.fixture(scope="module")
def entries(raw: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = raw["requirements"]
    return result


def test_catalogue_matches_its_own_schema(raw: dict[str, Any]) -> None:
    schema = _package_json("catalogue.schema.json")
    Draft202012Validator.check_schema(schema)
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(raw)]
    assert errors == []


def test_schema_rejects_an_untestable_entry_without_reason(entries: list[dict[str, Any]]) -> None:
    schema = _package_json("catalogue.schema.json")
    broken = {**next(e for e in entries if not e["testable"]), "reason": None}
    assert not Draft202012Validator(schema).is_valid({"version": 1, "requirements": [broken]})


def test_ids_are_unique(entries: list[dict[str, Any]]) -> None:
    counts = Counter(e["id"] for e in entries)
    assert [i for i, n in counts.items() if n > 1] == []
    assert len(load_catalogue()) == len(entries)


def test_ids_spell_out_rfc_section_and_keyword(entries: list[dict[str, Any]]) -> None:
    pattern = re.compile(r"^rfc(7643|7644)-([0-9.]+)-(must|should|may)-([1-9][0-9]*)$")
    for e in entries:
        m = pattern.match(e["id"])
        assert m, e["id"]
        assert (int(m[1]), m[2], m[3].upper()) == (e["rfc"], e["section"], e["keyword"]), e["id"]


def test_ordinals_count_each_keyword_per_section_in_document_order(
    entries: list[dict[str, Any]],
) -> None:
    seen: defaultdict[tuple[int, str, str], list[int]] = defaultdict(list)
    for e in entries:
        seen[(e["rfc"], e["section"], e["keyword"])].append(int(e["id"].rsplit("-", 1)[1]))
    for key, ordinals in seen.items():
        assert ordinals == list(range(1, len(ordinals) + 1)), key


def test_keyword_is_the_strongest_one_in_the_sentence(entries: list[dict[str, Any]]) -> None:
    for e in entries:
        found = [m.group(1) for m in KEYWORD_RE.finditer(e["text"])]
        assert list(dict.fromkeys(found)) == e["keywords_in_sentence"], e["id"]
        strongest = min((normalise_keyword(k) for k in found), key=_STRENGTH.__getitem__)
        assert strongest == e["keyword"], e["id"]


def test_every_untestable_requirement_says_why(entries: list[dict[str, Any]]) -> None:
    silent = [e["id"] for e in entries if not e["testable"] and not (e["reason"] or "").strip()]
    assert silent == []
    assert all(e["reason"] is None for e in entries if e["testable"])


def test_client_only_requirements_are_not_booked_as_testable(
    entries: list[dict[str, Any]],
) -> None:
    """A sentence binding only the client cannot fail a service provider."""
    assert [e["id"] for e in entries if e["actor"] == "client" and e["testable"]] == []


def test_counts_are_plausible(entries: list[dict[str, Any]]) -> None:
    per = Counter((e["rfc"], e["keyword"]) for e in entries)
    testable = Counter((e["rfc"], e["keyword"]) for e in entries if e["testable"])
    for rfc in RFCS:
        line = ", ".join(f"{k} {testable[(rfc, k)]}/{per[(rfc, k)]}" for k in KEYWORDS)
        print(f"RFC{rfc}: {line} (testable/total)")
    # RFC 7643 has ~240 and RFC 7644 ~280 uppercase keyword occurrences in all, part of
    # them in JSON examples; sentences with several keywords count once.
    assert 150 <= sum(per[(7643, k)] for k in KEYWORDS) <= 240
    assert 220 <= sum(per[(7644, k)] for k in KEYWORDS) <= 290
    assert all(per[(rfc, k)] > 0 for rfc in RFCS for k in KEYWORDS)
    assert testable[(7644, "MUST")] >= 100


def test_known_sentences_have_their_expected_ids() -> None:
    """Spot checks against the RFC, read by a person: section, keyword and ordinal."""
    catalogue = load_catalogue()
    patch_schemas = catalogue["rfc7644-3.5.2-must-1"]
    assert '"urn:ietf:params:scim:api:messages:2.0:PatchOp"' in patch_schemas.text
    assert catalogue["rfc7644-3.6-must-3"].text.endswith("HTTP status code 204 (No Content).")
    assert catalogue["rfc7643-4.1.1-must-1"].context == "userName"
    assert catalogue["rfc7643-5-must-5"].context == "bulk.maxOperations"
    assert catalogue["rfc7644-3.5.2.1-should-1"].keywords_in_sentence == ("SHOULD",)
    assert catalogue["rfc7644-3.8-must-4"].keywords_in_sentence == ("MUST", "SHOULD")
    assert not catalogue["rfc7644-7.2-must-2"].testable  # TLS 1.2 support
    assert catalogue["rfc7644-3.3-must-5"].testable  # 409 uniqueness
    # The RFC 2119 boilerplate quotes the keywords; it is not a requirement.
    assert not any("RFC 2119" in r.text for r in catalogue.values())


def test_requirement_is_frozen() -> None:
    requirement = next(iter(load_catalogue().values()))
    assert isinstance(requirement, Requirement)
    with pytest.raises(dataclasses.FrozenInstanceError):
        requirement.testable = not requirement.testable  # type: ignore[misc]


def test_load_catalogue_is_cached_and_read_only() -> None:
    first = load_catalogue()
    assert load_catalogue() is first
    with pytest.raises(TypeError):
        first["x"] = first["rfc7644-3.6-must-3"]  # type: ignore[index]


def test_loading_does_not_import_pytest() -> None:
    code = (
        "import sys, harness.requirements as r; r.load_catalogue(); print('pytest' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_ids_lists_only_the_strangers() -> None:
    assert unknown_ids(["rfc7644-3.6-must-3", "rfc7644-3.6-must-99", "nonsense"]) == [
        "nonsense",
        "rfc7644-3.6-must-99",
    ]
    assert unknown_ids([]) == []


def test_coverage_arithmetic() -> None:
    catalogue = load_catalogue()
    testable = [r for r in catalogue.values() if r.testable and r.section == "3.6"]
    untestable = next(r for r in catalogue.values() if not r.testable)
    hit = [testable[0].id, testable[1].id, untestable.id, "rfc7644-99-must-1"]
    cov = coverage([*hit, testable[0].id])

    all_testable = sum(r.testable for r in catalogue.values())
    assert cov.overall.total == len(catalogue)
    assert cov.overall.testable == all_testable
    assert cov.overall.exercised == 2
    assert cov.overall.share == pytest.approx(2 / all_testable)
    assert cov.unknown == ["rfc7644-99-must-1"]
    assert cov.exercised_untestable == [untestable.id]
    assert len(cov.missed) == all_testable - 2

    section = cov.by_section[section_key(7644, "3.6")]
    in_section = [r for r in catalogue.values() if r.rfc == 7644 and r.section == "3.6"]
    assert (section.total, section.testable, section.exercised) == (
        len(in_section),
        sum(r.testable for r in in_section),
        2,
    )
    for table in (cov.by_section, cov.by_keyword, cov.by_rfc, cov.by_rfc_keyword):
        assert sum(t.total for t in table.values()) == cov.overall.total
        assert sum(t.testable for t in table.values()) == cov.overall.testable
        assert sum(t.exercised for t in table.values()) == 2
    keyword = testable[0].keyword
    assert cov.by_keyword[keyword].exercised == sum(t.keyword == keyword for t in testable[:2])

    data = json.loads(cov.to_json())
    assert data["overall"] == {
        "total": len(catalogue),
        "testable": all_testable,
        "exercised": 2,
        "share": round(2 / all_testable, 4),
    }
    assert set(data["by_keyword"]) == set(KEYWORDS)
    assert data["by_section"]["RFC7644 3.6"]["exercised"] == 2


def test_coverage_of_nothing_and_of_everything() -> None:
    catalogue = load_catalogue()
    assert coverage([]).overall.share == 0.0
    full = coverage(catalogue)
    assert full.overall.share == 1.0
    assert full.missed == []
    sections_without_testable = [k for k, t in full.by_section.items() if t.testable == 0]
    assert all(full.by_section[k].share is None for k in sections_without_testable)
    assert json.loads(full.to_json())["by_section"]["RFC7643 10.3.1"]["share"] is None


def test_cli_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    catalogue = load_catalogue()
    musts = [r for r in catalogue.values() if r.rfc == 7644 and r.keyword == "MUST"]
    assert re.search(rf"RFC7644\s+{sum(r.testable for r in musts)}/{len(musts)}\b", out)
    assert re.search(
        rf"both\s.*\s{sum(r.testable for r in catalogue.values())}/{len(catalogue)}", out
    )


def test_cli_filters_by_section_and_keyword(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--section", "3.5.2", "--keyword", "must"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [
        r.id
        for r in load_catalogue().values()
        if (r.section == "3.5.2" or r.section.startswith("3.5.2.")) and r.keyword == "MUST"
    ]
    assert [line.split()[0] for line in lines] == expected
    assert all(line.split()[1] in {"testable", "untestable"} for line in lines)


def test_cli_greps_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--grep", "primary", "--rfc", "7643", "--reasons"]) == 0
    out = capsys.readouterr().out
    assert "rfc7643-2.4-must-3" in out
    assert 'The primary attribute value "true" MUST appear no more than once.' in out
    assert "actor: service provider" in out


def test_cli_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness.requirements", "--untestable", "--section", "7.2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "rfc7644-7.2-must-2" in out.stdout
    assert "untestable" in out.stdout


# --- faithful to the RFC texts (docs/rfc) ------------------------------------------------

_PAGE_FURNITURE = re.compile(
    r"^(?:\S.*\[Page \d+\]|RFC 764\d {2,}.* {2,}September 2015)\s*$", re.MULTILINE
)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _table_columns(text: str) -> list[str]:
    """Each column of the RFC's ASCII tables as one text, so a cell sentence is a substring."""
    columns: defaultdict[tuple[int, int], list[str]] = defaultdict(list)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = stripped.strip("|").split("|")
            for i, cell in enumerate(cells):
                columns[(len(cells), i)].append(cell)
    return [_squeeze("".join(parts)) for parts in columns.values()]


@pytest.fixture(scope="module")
def rfc_texts() -> dict[int, str]:
    return {n: (RFC_DIR / f"rfc{n}.txt").read_text(encoding="utf-8") for n in RFCS}


@needs_rfc_texts
def test_every_sentence_occurs_in_its_rfc(
    entries: list[dict[str, Any]], rfc_texts: dict[int, str]
) -> None:
    prose = {
        n: _squeeze(_PAGE_FURNITURE.sub("", t.replace("\f", ""))) for n, t in rfc_texts.items()
    }
    tables = {n: _table_columns(t) for n, t in rfc_texts.items()}
    missing = [
        e["id"]
        for e in entries
        if _squeeze(e["text"]) not in prose[e["rfc"]]
        and not any(_squeeze(e["text"]) in column for column in tables[e["rfc"]])
    ]
    assert missing == []


@needs_rfc_texts
def test_every_prose_keyword_of_the_rfc_is_in_the_catalogue(
    entries: list[dict[str, Any]], rfc_texts: dict[int, str]
) -> None:
    """Keywords outside the catalogue may only sit in figures (JSON, HTTP, ABNF) or quotes."""
    for n, text in rfc_texts.items():
        body = text[text.index("\n1.  Introduction") :]
        counted = sum(len(e["keywords_in_sentence"]) for e in entries if e["rfc"] == n)
        in_prose = 0
        for line in body.splitlines():
            stripped = line.strip()
            figure = (
                not line.startswith("   ")
                or stripped[:1] in '{}[]"'
                or stripped.startswith(("+-", "Figure"))
            )
            if not figure:
                in_prose += len(set(KEYWORD_RE.findall(line)))
        # per-line distinct keywords bound the per-sentence distinct keywords from below
        assert counted >= in_prose * 0.9, (n, counted, in_prose)


@needs_rfc_texts
def test_regenerating_gives_the_committed_catalogue(
    entries: list[dict[str, Any]], rfc_texts: dict[int, str]
) -> None:
    """The generator is deterministic and merges annotations.json, so no judgement is lost."""
    annotations = _package_json("annotations.json")
    regenerated, merged = build_catalogue(rfc_texts, annotations)
    assert regenerated == entries
    assert merged == annotations


@needs_rfc_texts
def test_regenerating_without_annotations_keeps_ids(
    entries: list[dict[str, Any]], rfc_texts: dict[int, str]
) -> None:
    guessed, merged = build_catalogue(rfc_texts, {})
    assert [e["id"] for e in guessed] == [e["id"] for e in entries]
    assert all(merged[e["id"]]["reviewed"] is False for e in guessed)


def test_annotations_cover_exactly_the_catalogue(entries: list[dict[str, Any]]) -> None:
    """Every judgement belongs to a sentence and every sentence was judged by a person."""
    annotations: dict[str, dict[str, Any]] = _package_json("annotations.json")
    assert set(annotations) == {e["id"] for e in entries}
    allowed = {"actor", "testable", "reason", "notes"}
    assert [i for i, a in annotations.items() if not set(a) <= allowed] == []
    assert [i for i, a in annotations.items() if "reviewed" in a] == []


@needs_rfc_texts
def test_section_titles_match_the_rfc_headings(
    entries: list[dict[str, Any]], rfc_texts: dict[int, str]
) -> None:
    for n, text in rfc_texts.items():
        headings = dict(re.findall(r"^(\d+(?:\.\d+)*)\.\s+(\S.*?)\s*$", text, re.MULTILINE))
        for e in entries:
            if e["rfc"] == n:
                assert headings.get(e["section"]) == e["section_title"], e["id"]


def test_cli_lists_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--sections"]) == 0
    lines = capsys.readouterr().out.splitlines()
    catalogue = load_catalogue().values()
    bulk = [r for r in catalogue if (r.rfc, r.section, r.keyword) == (7644, "3.7.4", "MUST")]
    row = next(line for line in lines if line.startswith("RFC7644 3.7.4 "))
    assert f"{sum(r.testable for r in bulk)}/{len(bulk)}" in row
    assert row.endswith("Maximum Operations")
    assert len(lines) == 1 + len({(r.rfc, r.section) for r in catalogue})
