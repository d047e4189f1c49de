"""A short name a document defines (（以下「…」といいます。）) is explained where a quote uses it."""

from __future__ import annotations

from assistant.shortnames import short_names, used_in

LINES = [
    "（２）法令等との関連",
    "",
    "  イ 基本法による策定義務",
    "    データ活用推進基本法（令和 9 年法律第 1 号：以下「データ法」といいます。）",
    "",
    "第５条に基づくデータ活用推進計画（以下「データ計画」といい",
    "ます。）は，住民の利便性向上を目的としています。",
    "本ポリシーは，データ計画に位置づけます。また，「基本方針２０３０」（閣議決定。以下「骨太の方針」といいます。）に沿います。",
]


def test_a_definition_broken_over_lines_is_read_whole_from_its_sentence_start() -> None:
    names = short_names({"doc": LINES})
    plan = names["データ計画"]
    assert plan.definition == (
        "データ活用推進基本法（令和 9 年法律第 1 号：以下「データ法」といいます。）"
        "第５条に基づくデータ活用推進計画（以下「データ計画」といいます。）"
    )
    assert (plan.line_start, plan.line_end) == (4, 7)  # the heading above is no part of the sentence
    assert names["データ法"].definition.startswith("データ活用推進基本法（")


def test_a_full_stop_inside_brackets_ends_no_sentence() -> None:
    assert (
        short_names({"doc": LINES})["骨太の方針"].definition
        == "また，「基本方針２０３０」（閣議決定。以下「骨太の方針」といいます。）"
    )


def test_a_quote_using_a_short_name_is_told_its_definition_once() -> None:
    names = short_names({"doc": LINES})
    assert [s.name for s in used_in("本ポリシーは，データ計画に位置づけます。", "doc", names)] == [
        "データ計画"
    ]
    assert used_in("（以下「データ計画」といいます。）", "doc", names) == []  # the quote defines it itself
    assert used_in("本ポリシーは，データ計画に位置づけます。", "other-doc", names) == []
