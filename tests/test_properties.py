"""Property tests (hypothesis) for the normaliser and the tokeniser: any input, no crash, stable output.

Inputs cover any Unicode string (including lone surrogates and control characters), empty and whitespace-only
text, very long text (over Sudachi's per-call byte limit), emoji with modifiers, and mixed scripts.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.normalize import (
    era_label,
    expand_measure_ref,
    fiscal_year,
    nfkc,
    normalize_measure_id,
    number_tokens,
    parse_quantity,
)
from ingest.tokenize import tokenize

PROFILE = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every code point, surrogates and controls included.
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
# Text that looks like the corpus: kana, kanji, full-width forms, digits, era marks, separators, emoji.
JA_PIECES = st.sampled_from(
    [
        "企",
        "出・総",
        "１５",
        "15",
        " ",
        "\u3000",
        "\n",
        "\t",
        "～",
        "、",
        ",",
        "令和",
        "R",
        "H",
        "元",
        "年度",
        "万",
        "千",
        "億",
        "%",
        "％",
        "約",
        "マイナンバーカード",
        "ｶﾀｶﾅ",
        "ＤＸ",
        "5G",
        "取り組み",
        "の",
        "。",
        "🙂",
        "👩🏽‍💻",
        "🇯🇵",
        "\u0000",
        "\u200b",
        "\ufeff",
        "\u0301",
        "Ω",
        "한국어",
        "العربية",
        "עברית",
        "Ελληνικά",
        "кириллица",
        "\ud800",
    ]
)
JA_TEXT = st.lists(st.one_of(JA_PIECES, ANY_TEXT.map(lambda s: s[:5])), max_size=60).map("".join)
TEXT = st.one_of(ANY_TEXT, JA_TEXT)


# --- normaliser ---------------------------------------------------------------------------------------------


@PROFILE
@given(TEXT)
@example("")
@example("ｶﾞｷﾞ１２３ＡＢＣ")
@example("\u0041\u030a\u212b")  # A + ring, Angstrom sign
def test_nfkc_is_idempotent_and_total(s: str) -> None:
    once = nfkc(s)
    assert isinstance(once, str)
    assert nfkc(once) == once
    assert unicodedata.is_normalized("NFKC", once)


@PROFILE
@given(TEXT)
@example("")
@example("約5万2千件")
@example("1,187")
@example("－")
def test_parse_quantity_never_crashes_and_keeps_the_raw_text(s: str) -> None:
    q = parse_quantity(s)
    assert q.raw == s.strip()
    assert q.value is None or q.value == q.value  # not NaN
    if not any(ch.isdigit() for ch in nfkc(s)):
        assert q.value is None


@PROFILE
@given(TEXT)
@example("R元年度")
@example("FY2023")
@example("平成")
def test_fiscal_year_is_none_or_a_plausible_year(s: str) -> None:
    y = fiscal_year(s)
    assert y is None or 1900 <= y <= 2100
    if y is not None and y >= 1989:
        assert fiscal_year(era_label(y)) == y


@PROFILE
@given(TEXT)
def test_number_tokens_are_numbers(s: str) -> None:
    for tok in number_tokens(s):
        float(tok)


@PROFILE
@given(TEXT)
@example("企 15")
@example("出･総１")
def test_normalize_measure_id_is_idempotent_and_has_no_space(s: str) -> None:
    mid = normalize_measure_id(s)
    assert normalize_measure_id(mid) == mid
    assert not any(ch.isspace() for ch in mid)


# Bounded numbers: a KPI cell's measure numbers have at most three digits (see the report on unbounded ranges).
MEASURE_REF = st.lists(
    st.tuples(
        st.sampled_from(["", "企", "総", "企・警", "出･総", "Ａ"]),
        st.integers(0, 999),
        st.one_of(st.none(), st.integers(0, 999)),
        st.sampled_from(["～", "~", "〜"]),
    ),
    max_size=5,
).map(
    lambda parts: ",".join(f"{p}{lo}" + (f"{sep}{hi}" if hi is not None else "") for p, lo, hi, sep in parts)
)


@PROFILE
@given(st.one_of(MEASURE_REF, ANY_TEXT.filter(lambda s: sum(ch.isdigit() for ch in s) < 4)))
@example("企8～11,29")
@example("")
def test_expand_measure_ref_never_crashes(s: str) -> None:
    ids = expand_measure_ref(s)
    assert all(isinstance(x, str) and x and x[-1].isdigit() for x in ids)


# --- tokeniser ----------------------------------------------------------------------------------------------


def _check_tokens(tokens: list[str]) -> None:
    assert isinstance(tokens, list)
    for t in tokens:
        assert isinstance(t, str) and t.strip(), repr(t)
        assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in t), repr(t)


@PROFILE
@given(TEXT)
@example("")
@example(" \u3000\n\t")
@example("\x00\x01\x1f\x7f\x9f")
@example("🙂👩🏽‍💻🇯🇵")
@example("企15とＤＸ、令和5年度のKPI: 78.34%, Ωmega, кириллица, 한국어")
@example("\ud800\udfff企\udc0015")
def test_tokenize_any_text(s: str) -> None:
    tokens = tokenize(s)
    _check_tokens(tokens)
    assert tokenize(s) == tokens  # deterministic
    assert tokenize(nfkc(s)) == tokens  # the query side may normalise first: same tokens


@pytest.mark.parametrize(
    "text",
    [
        "あ" * 60_000,  # one 180 KB line: cut on character boundaries
        ("マイナンバーカードの交付率を高める。" * 4000),  # one line of many sentences
        ("企15の担当課\n" * 8000),  # many lines
        "🙂" * 30_000,  # 4-byte characters only
        "a" * 100_000,
        ("\u0000" * 50_000) + "企15",
        ("👩🏽‍💻" * 5000) + "DX",
    ],
    ids=["kana", "sentences", "lines", "emoji", "latin", "controls", "zwj-emoji"],
)
def test_tokenize_very_long_text(text: str) -> None:
    tokens = tokenize(text)
    _check_tokens(tokens)
    if text.endswith("企15") or "企15の" in text:
        assert "企15" in tokens


@PROFILE
@given(st.lists(st.sampled_from(["企", "総", "出・総"]), min_size=1, max_size=3), st.integers(1, 999))
def test_measure_ids_survive_any_surrounding_noise(prefixes: list[str], n: int) -> None:
    mid = f"{prefixes[0]}{n}"
    for text in (mid, f"🙂{mid}の担当は？", f"\x00{mid}\x00", f"（{mid}）", f"ｘ {mid} ｘ"):
        assert mid in tokenize(text), text
