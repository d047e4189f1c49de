"""The search tokeniser: golden tokens of policy sentences, variant spellings, identifiers, robustness."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest.tokenize import TOKENIZER_VERSION, tokenize

GOLDEN = Path(__file__).parent / "golden" / "tokens.jsonl"


def _golden() -> list[dict]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_version_is_a_string() -> None:
    assert isinstance(TOKENIZER_VERSION, str) and TOKENIZER_VERSION


@pytest.mark.parametrize("record", _golden(), ids=lambda r: r["source"])
def test_golden_tokens(record: dict) -> None:
    got = tokenize(record["text"])
    assert got == record["tokens"], (
        f"{record['source']}: {record['text']!r}\n  expected {record['tokens']}\n  got      {got}\n"
        "If the change is intended, review the diff and bump TOKENIZER_VERSION."
    )


def test_golden_has_twelve_sentences() -> None:
    assert len(_golden()) == 12


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        ("取組を推進", "取り組みを推進", "取り組み"),
        ("ＤＸの推進", "DXの推進", "dx"),
        ("令和５年度の実績", "令和5年度の実績", "r5"),
        ("R5年度の実績", "令和5年度の実績", "r5"),
        ("2023年度の実績", "R5の実績", "r5"),
        ("Ｗｅｂ会議", "ウェブ会議", "ウェブ"),
        ("企 15", "企15", "企15"),
        ("ｲﾉﾍﾞｰｼｮﾝ", "イノベーション", "イノベーション"),
    ],
)
def test_variants_meet(a: str, b: str, shared: str) -> None:
    ta, tb = tokenize(a), tokenize(b)
    assert shared in ta and shared in tb, (ta, tb)


def test_compound_gives_long_and_short_units() -> None:
    tokens = tokenize("マイナンバーカードの普及")
    assert tokens[:3] == ["マイナンバーカード", "マイナンバー", "カード"]
    assert "の" not in tokens


def test_particles_symbols_and_whitespace_dropped() -> None:
    tokens = tokenize("県の、「情報」を　推進します。\n")
    assert tokens == ["県", "情報", "推進", "為る"]


def test_numbers_kept_and_normalised() -> None:
    assert tokenize("1,187 2,003件") == ["1187", "2003", "件"]


def test_measure_ids() -> None:
    assert "企・警12" in tokenize("企・警\n\n12")
    assert {"企12", "警12"} <= set(tokenize("企・警12"))
    assert [t for t in tokenize("企8～11,29") if t.startswith("企") and t[1:].isdigit()] == [
        "企8",
        "企9",
        "企10",
        "企11",
        "企29",
    ]
    # a number after a longer kanji word or after a digit is not a measure id
    assert not {"和5", "年11", "在128"} & set(tokenize("令和5年11月現在128"))


def test_era_years() -> None:
    assert "h29" in tokenize("平成29年度")
    assert "h29" in tokenize("H29")
    assert "r1" in tokenize("令和元年度")
    assert "r2" in tokenize("（R2.12）")


@pytest.mark.parametrize(
    "text", ["", " ", "\n\n", "\x00\x01\x7f", "\ud800", "a\udfffb", "😀🇯🇵", "\u200b", "。、"]
)
def test_any_unicode_returns_a_list(text: str) -> None:
    tokens = tokenize(text)
    assert isinstance(tokens, list) and all(isinstance(t, str) and t.strip() for t in tokens)


def test_lone_surrogate_does_not_hide_neighbours() -> None:
    assert tokenize("情報\ud800政策") == ["情報", "政策"]


def test_long_input_with_lines() -> None:
    line = "宮城県はデジタル化による県民サービスの向上を推進します。\n"
    text = line * 2500  # ~190 KB
    assert len(text.encode("utf-8")) > 100_000
    tokens = tokenize(text)
    assert tokens == tokenize(line) * 2500


def test_long_input_without_line_breaks() -> None:
    text = "情報政策" * 30_000  # 360 KB, no line or sentence boundary
    tokens = tokenize(text)
    assert tokens.count("情報") >= 29_000  # at most a word per cut is broken
    assert tokens.count("政策") >= 29_000


def test_threads_match_serial() -> None:
    texts = [r["text"] for r in _golden()] * 20
    serial = [tokenize(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(tokenize, texts))
    assert parallel == serial


def test_a_questions_verbs_are_told_from_its_nouns():
    from ingest.tokenize import predicates

    verbs = predicates("キャッシュレス払いが使えるようになるのはいつから決まった？")
    assert {"使う", "決まる"} <= verbs and "キャッシュレス" not in verbs
