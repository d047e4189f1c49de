"""Spec of the plan's table parser: 主な個別施策 listings and 目標指標（ＫＰＩ） rows.

The golden files hold every listing and every KPI row, each checked by hand against the source lines.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from ingest.parse_plan import PlanTables, is_placeholder_kpi, parse_plan

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "corpus" / "miyagi-ict-policy-2021-2024.txt"
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return PLAN.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def tables(lines: list[str]) -> PlanTables:
    return parse_plan(lines, "plan-2021")


def _golden(name: str) -> list[dict]:
    return [json.loads(s) for s in (GOLDEN / name).read_text(encoding="utf-8").splitlines() if s.strip()]


def _diff(got: dict, want: dict) -> str:
    return "\n".join(
        f"  {k}: got {got.get(k)!r}\n  {' ' * len(k)}  want {want.get(k)!r}"
        for k in sorted(set(got) | set(want))
        if got.get(k) != want.get(k)
    )


def test_measures_match_golden(tables: PlanTables) -> None:
    got = {(m.measure_id, m.line_start): m.model_dump(mode="json") for m in tables.measures}
    for want in _golden("plan_measures.jsonl"):
        key = (want["measure_id"], want["line_start"])
        assert key in got, f"golden listing {key} not parsed"
        assert got[key] == want, f"measure {key} differs:\n{_diff(got[key], want)}"


def test_kpis_match_golden(tables: PlanTables) -> None:
    got = {k.kpi_id: k.model_dump(mode="json") for k in tables.kpis}
    for want in _golden("plan_kpis.jsonl"):
        assert want["kpi_id"] in got, f"golden KPI {want['kpi_id']} not parsed"
        assert got[want["kpi_id"]] == want, (
            f"KPI {want['kpi_id']} differs:\n{_diff(got[want['kpi_id']], want)}"
        )


def test_golden_coverage() -> None:
    measures, kpis = _golden("plan_measures.jsonl"), _golden("plan_kpis.jsonl")
    assert len(measures) >= 30 and len(kpis) >= 18
    assert len({m["goal"] for m in measures}) == 7
    assert {"出・総1", "企・警12"} <= {m["measure_id"] for m in measures}
    assert sum(m["relisted"] for m in measures) == 7 and any(m["placeholder"] for m in measures)
    assert any(not k["measure_ref_raw"] for k in kpis) and any(k["reference_value"] for k in kpis)
    assert any(len(k["measure_ids"]) > 1 for k in kpis)


def test_counts_agree_with_the_plan_statement(lines: list[str], tables: PlanTables) -> None:
    text = unicodedata.normalize("NFKC", "".join(s.strip() for s in lines))
    m = re.search(
        r"主な個別施策計\s*(\d+)\(実数計\s*(\d+)・再掲計\s*(\d+)\)と目標指標\(KPI\)\(計\s*(\d+)\)", text
    )
    assert m, "the plan's statement of counts was not found"
    listed, distinct, relisted, kpi_total = map(int, m.groups())
    assert (listed, distinct, relisted, kpi_total) == (54, 47, 7, 27)
    assert len(tables.measures) == listed
    assert len({x.measure_id for x in tables.measures}) == distinct
    assert sum(x.relisted for x in tables.measures) == relisted
    # every 再 listing repeats a measure listed without 再 elsewhere
    first = {x.measure_id for x in tables.measures if not x.relisted}
    assert all(x.measure_id in first for x in tables.measures if x.relisted)
    # "KPI 計27" = the 29 table rows minus the two (調整中) rows
    placeholders = [k for k in tables.kpis if is_placeholder_kpi(k)]
    assert len(tables.kpis) == 29 and len(placeholders) == 2
    assert len(tables.kpis) - len(placeholders) == kpi_total


def test_stated_section_counts(tables: PlanTables) -> None:
    """`主な個別施策 N` is the number of listings of the section, not a page number."""
    per_goal = Counter(m.goal for m in tables.measures)
    assert sorted(per_goal.values()) == sorted([10, 11, 7, 7, 5, 7, 7])
    assert not [w for w in tables.warnings if "states" in w.reason]
    assert per_goal["市町村の情報化への支援"] == 7
    assert per_goal["県行政の情報化の基盤整備 ロ サイバーセキュリティ及び個人情報の適正な取扱の確保"] == 7


def test_few_warnings(tables: PlanTables) -> None:
    # only the boxed quotation of the law (サイバーセキュリティ基本法第５条) inside the ロ table is unplaced
    assert [w.line for w in tables.warnings] == [3555, 3557, 3559]


def test_no_perspective_labels_in_text(tables: PlanTables) -> None:
    for m in tables.measures:
        for text in (m.name or "", m.overview):
            assert "ｲﾉﾍﾞｰｼｮﾝ" not in text and "人地域" not in text and "行財政広域的" not in text, m.measure_id
            assert not re.search(r"[\uff66-\uff9f]", text), (m.measure_id, text)
        if not m.placeholder:
            assert m.overview.endswith("。") and m.name and " " not in m.name, m.measure_id
            assert not m.name.endswith("民") and not m.overview.endswith("民")


def test_every_listing_has_well_formed_owners(tables: PlanTables) -> None:
    for m in tables.measures:
        if m.placeholder:
            assert m.name is None and not m.owners and not m.overview
            continue
        assert m.owners, m.measure_id
        for o in m.owners:
            assert re.search(r"(部|局|庁|本部)$", o.bureau), (m.measure_id, o)
            assert re.search(r"(課|室|センター)(（[^）]*）)?$", o.section), (m.measure_id, o)
            assert (o.start_year_raw is None) == (o.start_year is None)


def test_joint_owners_and_split_numbers(tables: PlanTables) -> None:
    by_id = {m.measure_id: m for m in tables.measures}
    cash = by_id["出・総1"]
    assert [(o.bureau, o.section, o.start_year_raw, o.start_year) for o in cash.owners] == [
        ("出納局", "会計課", None, None),
        ("総務部", "税務課", "H20", 2008),
    ]
    cyber = by_id["企・警12"]
    assert [o.bureau for o in cyber.owners] == ["震災復興・企画部", "警察本部"]
    assert cyber.owners[1].section == "サイバー犯罪対策課" and cyber.kpi_mark
    multi = next(k for k in tables.kpis if len(k.measure_ids) == 5)
    assert multi.measure_ids == ["企8", "企9", "企10", "企11", "企29"] and multi.line_start == 3577


def test_relisted_rows_keep_their_own_values(tables: PlanTables) -> None:
    listings = [m for m in tables.measures if m.measure_id == "企30"]
    assert [(m.relisted, m.owners[0].start_year_raw) for m in listings] == [(False, "H17"), (True, "H7")]
    assert [m.kpi_mark for m in tables.measures if m.measure_id == "企21"] == [False, True]


def test_kpi_rows_without_number_take_the_row_above(tables: PlanTables) -> None:
    home = next(k for k in tables.kpis if k.item == "在宅勤務実施割合")
    assert home.measure_ref_raw == "" and home.measure_ids == ["総2"] and home.reference_value
    assert list(home.targets) == ["R4", "R5", "R6"]  # three cells, counted from the right
    paper = next(k for k in tables.kpis if k.item.startswith("紙削減率"))
    assert paper.measure_ids == ["総3", "総4"] and paper.targets["R3"].raw == "（100）"


def test_single_digit_baselines_are_kept(tables: PlanTables) -> None:
    baselines = {k.baseline.raw for k in tables.kpis if k.baseline}
    assert {"1", "2", "3", "4"} <= baselines


def test_records_name_the_lines_their_goal_and_target_years_are_printed_in(
    lines: list[str], tables: PlanTables
) -> None:
    """A KPI row prints only figures: its years are the table's `Ｒ３ Ｒ４ …` header, its goal the heading above."""
    kpi = next(k for k in tables.kpis if k.measure_ids == ["企15"])
    assert not any("Ｒ５" in lines[n - 1] for n in range(kpi.line_start, kpi.line_end + 1))
    assert max(kpi.context_lines) < kpi.line_start  # outside the row's own span
    heading, header = (lines[n - 1] for n in kpi.context_lines)
    assert header.split() == ["Ｒ３", "Ｒ４", "Ｒ５", "Ｒ６"]
    assert "重点目標①" in heading and kpi.goal == "重点目標① 最適化による県民サービスの向上"
    m = next(m for m in tables.measures if m.measure_id == "企15")
    assert m.context_lines == [n for n in kpi.context_lines if "重点目標①" in lines[n - 1]]
    deep = next(m for m in tables.measures if m.goal == "県行政の情報化の基盤整備 イ 情報システムの最適化")
    assert [lines[n - 1].split()[-1] for n in deep.context_lines] == [
        "県行政の情報化の基盤整備",
        "情報システムの最適化",
    ]


def test_output_follows_an_edited_corpus(lines: list[str]) -> None:
    """Nothing is hard-coded: a renamed department, a changed target and a changed start year show up."""
    edited = [
        s.replace("河川課", "流域治水課")
        .replace("1,187 1,459 1,731 2,003", "1,200 1,500 1,800 2,100")
        .replace("R1 ", "R3 ")
        if s.strip() in ("河川課", "1,187 1,459 1,731 2,003", "R1")
        else s
        for s in lines
    ]
    out = parse_plan(edited, "plan-edit")
    river = next(m for m in out.measures if m.measure_id == "土4")
    assert river.owners[0].section == "流域治水課"
    wifi = next(k for k in out.kpis if k.measure_ids == ["企15"])
    assert wifi.targets["R6"].value == 2100 and wifi.kpi_id == "plan-edit:kpi:02"
    web = next(m for m in out.measures if m.measure_id == "総1")
    assert web.owners[0].start_year_raw == "R3" and web.owners[0].start_year == 2021
