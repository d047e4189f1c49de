"""Spec for ingest.parse_sections: narrative sections and the glossary of the plan.

Golden records in tests/golden/{plan_sections,glossary}.jsonl were checked by hand against the plan's text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from ingest.parse_sections import clean_lines, parse_sections
from ingest.records import GlossaryTerm, Section

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "corpus" / "miyagi-ict-policy-2021-2024.txt"
GOLDEN = ROOT / "tests" / "golden"
DOC = "plan-2021"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return PLAN.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def parsed(lines):
    return parse_sections(lines, DOC)


def _golden(name: str) -> list[dict]:
    with open(GOLDEN / name, encoding="utf-8") as f:
        return [json.loads(x) for x in f if x.strip()]


def _diff(expected: dict, actual: dict) -> str:
    return "\n".join(
        f"  {k}: expected {expected[k]!r}\n  {' ' * len(k)}  actual   {actual.get(k)!r}"
        for k in expected
        if expected[k] != actual.get(k)
    )


# --- golden ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("record", _golden("plan_sections.jsonl"), ids=lambda r: r["section_id"])
def test_section_matches_golden(parsed, record):
    by_id = {s.section_id: s for s in parsed.sections}
    assert record["section_id"] in by_id, f"missing section {record['section_id']}"
    actual = by_id[record["section_id"]].model_dump(mode="json")
    assert actual == record, f"{record['section_id']} differs:\n{_diff(record, actual)}"


def test_golden_sections_cover_every_level_and_chapter():
    recs = [Section(**r) for r in _golden("plan_sections.jsonl")]
    assert len(recs) >= 20
    assert {r.level for r in recs} == {0, 1, 2, 3, 4}
    assert {r.path[0] for r in recs if r.path} == {
        "はじめに",
        "情報化政策における理念と基本的な方針",
        "情報化政策における行動指針と主な個別施策",
        "官民データ計画としての本推進ポリシー",
        "参考資料",
    }


def test_glossary_matches_golden(parsed):
    golden = _golden("glossary.jsonl")
    actual = [g.model_dump(mode="json") for g in parsed.glossary]
    assert len(actual) == len(golden) == 41
    for exp, act in zip(golden, actual, strict=True):
        assert act == exp, f"glossary {exp['number']} {exp['term']} differs:\n{_diff(exp, act)}"


# --- structure ---------------------------------------------------------------------------------------------


def test_heading_counts_per_level(parsed):
    assert Counter(s.level for s in parsed.sections) == {0: 1, 1: 5, 2: 16, 3: 23, 4: 15}
    assert [s.label for s in parsed.sections if s.level == 1] == [
        "第1章",
        "第2章",
        "第3章",
        "第4章",
        "参考資料",
    ]


def test_section_ids_are_sequential_and_ranges_ordered(parsed):
    ids = [s.section_id for s in parsed.sections]
    assert ids == [f"{DOC}:sec:{n:03d}" for n in range(1, len(ids) + 1)]
    for a, b in zip(parsed.sections, parsed.sections[1:], strict=False):
        assert a.line_start <= a.line_end < b.line_start


def test_in_text_list_and_comparison_table_make_no_sections(parsed):
    # イ/ロ/ハ listed inside 第2章 (4) (655-659) and `第３章 ５` cells of the 第4章 comparison table
    assert not [s for s in parsed.sections if 640 <= s.line_start <= 666]
    assert not [s for s in parsed.sections if 4657 <= s.line_start <= 4700]


def test_glossary_entries(parsed):
    terms = {g.term: g for g in parsed.glossary}
    assert [g.number for g in parsed.glossary if g.number] == [str(n) for n in range(1, 41)]
    assert terms["ローカル５Ｇ"].number is None
    assert terms["５Ｇ"].number == "15"
    assert terms["ＫＰＩ"].definition.startswith("Key Performance Inductors の略。")  # typo as printed
    assert terms["ＢＹＯＤ"].definition.startswith("Bring Your Own Debice")
    assert "ＬＡＮ（23 参照）" in terms["ＷＡＮ"].definition


# --- cleaning ----------------------------------------------------------------------------------------------

_RUBY = {
    "ふ け ん",
    "やくしん",
    "プ ロ グ レ ス",
    "み や ぎ",
    "エスディージーズ",
    "ギ ガ",
    "みん",
    "ミ カ",
    "シーアイエスオー",
}


def test_no_noise_in_section_text(parsed):
    for s in parsed.sections:
        text_lines = s.text.split("\n")
        assert not _RUBY & set(text_lines), s.section_id
        assert not re.search(r"＊\s*[0-9０-９]", s.text), s.section_id
        urls = re.findall(r"https?://\S+", s.text)
        assert all(a != b for a, b in zip(urls, urls[1:], strict=False)), s.section_id
        for bad in ("ｲﾉﾍﾞｰｼｮﾝ", "概要・目的", "担当所属", "Ｒ３ Ｒ４ Ｒ５ Ｒ６", "主な個別施策 "):
            assert bad not in s.text, (s.section_id, bad)


def test_ruby_removed_and_words_joined(parsed):
    text = "\n".join(s.text for s in parsed.sections)
    for word in (
        "富県躍進",
        "ＧＩＧＡスクール構想",
        "（ＭＩＣＡ）",
        "本部長（ＣＩＳＯ）とする",
        "青木孝文 座長",
    ):
        assert word in text, word
    assert [s.title for s in parsed.sections if s.label == "姿勢①"] == ["民の力を活かした県行政運営"]


def test_tab_labels_dropped_but_guidelines_kept(parsed):
    goal1 = next(s for s in parsed.sections if s.title.startswith("重点目標①"))
    assert "県民サービスの向上\n" not in goal1.text and "行動指針" in goal1.text
    support = next(s for s in parsed.sections if s.title == "市町村の情報化への支援")
    bullets = [x for x in support.text.split("\n") if x.startswith("○")]
    assert len(bullets) == 4 and all(b.endswith("。") for b in bullets)


def test_skip_ranges_equal_to_table_regions_change_nothing(lines, parsed):
    skip = [(768, 1006), (1018, 1055), (1057, 1383), (2518, 3016), (3101, 3401), (3481, 3933)]
    assert parse_sections(lines, DOC, skip=skip).sections == parsed.sections


def test_follows_an_edited_copy(lines):
    edited = [x.replace("策定経過", "策定の経緯").replace("アジャイル", "アジャイル開発") for x in lines]
    out = parse_sections(edited, DOC)
    assert any(s.title == "策定の経緯" for s in out.sections)
    assert out.glossary[-1].term == "アジャイル開発"


# --- clean_lines and small synthetic documents -------------------------------------------------------------


def test_clean_lines_joins_and_strips_noise():
    src = [
        "「富県",
        "ふ け ん",
        "躍進",
        "やくしん",
        "！＊５の視点 ",
        "",
        "https://x.jp/a",
        "https://x.jp/a",
        "青 木 孝 文 座長 ",
    ]
    assert clean_lines(src, 1, len(src)) == "「富県躍進！の視点\n青木孝文 座長"


def test_clean_lines_keeps_real_kana_words_and_split_markers():
    src = ["ＧＩＧＡ", "ギ ガ", "", "スクール", "", "構想＊", "", "34", "", "です。 "]
    assert clean_lines(src, 1, len(src)) == "ＧＩＧＡスクール構想です。"


def test_clean_lines_rejects_bad_range():
    with pytest.raises(ValueError, match="1-based"):
        clean_lines(["a"], 0, 1)


def test_synthetic_document_headings_tables_and_glossary():
    doc = [
        " 第１章 総則 ",
        "１ 目的 ",
        "本文です。 ",
        "  イ 甲 ",
        "  ロ 乙 ",
        " (1) 細目 ",
        "説明。 ",
        "主な個別施策 3 ",
        "企1 ",
        "表の中身 ",
        "○ 指針の本文。 ",
        "２ 次 ",
        "前の章 ",
        " 第３章 飛び ",
        " ３ 用語解説 ",
        "１ 用語甲 説明が長い一文の定義になっています。 ",
        "２ ",
        "用語乙 ",
        "定義乙。 ",
        "番号なし ",
        "その定義。 ",
    ]
    out = parse_sections(doc, "t")
    assert [(s.level, s.label, s.title) for s in out.sections] == [
        (1, "第1章", "総則"),
        (2, "1", "目的"),
        (3, "(1)", "細目"),
        (2, "2", "次"),
        (2, "3", "用語解説"),
    ]
    assert out.sections[1].text == "本文です。\nイ 甲\nロ 乙"  # a list, not headings
    assert out.sections[2].text == "説明。\n○ 指針の本文。"  # table dropped, bullet kept
    assert "第３章 飛び" in out.sections[3].text  # out of sequence: kept as text
    assert [(g.number, g.term, g.definition) for g in out.glossary] == [
        ("1", "用語甲", "説明が長い一文の定義になっています。"),
        ("2", "用語乙", "定義乙。"),
        (None, "番号なし", "その定義。"),
    ]
    assert all(isinstance(g, GlossaryTerm) for g in out.glossary)


def test_invalid_skip_range_names_the_fix():
    with pytest.raises(ValueError, match="1-based inclusive"):
        parse_sections(["a "], DOC, skip=[(3, 1)])
