"""Text and number normalisation shared by every parser, the index and the answer verifier.

- `nfkc`: Unicode NFKC (full-width digits and letters to ASCII, half-width kana to full-width).
- `parse_quantity`: a figure as printed -> `Quantity` (`1,187` -> 1187; `約5万2千件` -> 52000 件; `12.5%` -> 12.5 %).
- `era_of`: the era (令和, 平成, 昭和) a Western fiscal year is labelled in.
- `fiscal_year`: Japanese era years (`R5`, `令和5年度`, `H29`, `R元`) and Western forms (`2023年度`, `FY2023`)
  -> the Western fiscal year (2023).
- `normalize_measure_id` / `expand_measure_ref`: measure numbers (`企 21` -> `企21`; `企8～11,29` -> 企8..企11, 企29).
"""

from __future__ import annotations

import re
import unicodedata

from ingest.records import Quantity

__all__ = [
    "nfkc",
    "parse_quantity",
    "fiscal_year",
    "era_label",
    "era_of",
    "normalize_measure_id",
    "expand_measure_ref",
    "MEASURE_ID_RE",
    "number_tokens",
]

_DASHES = "‐‑‒–—―−ー"  # forms of "none" in 事業開始 cells (ー only when alone)


def nfkc(text: str) -> str:
    """NFKC-normalise `text`; idempotent."""
    return unicodedata.normalize("NFKC", text)


# --- fiscal years ------------------------------------------------------------------------------------------

_ERA_BASE = {"R": 2018, "令和": 2018, "H": 1988, "平成": 1988, "S": 1925, "昭和": 1925}
_ERA_RE = re.compile(r"(令和|平成|昭和|[RHS])\s*(元|\d{1,2})")
_WESTERN_RE = re.compile(r"(?:FY\s*)?((?:19|20)\d{2})(?:\s*年度?)?", re.IGNORECASE)


def era_of(year: int) -> str:
    """The era a fiscal year is labelled in (2019, R元年度 -> 令和; 2018 -> 平成), or "" before 昭和.

    >>> era_of(2019), era_of(2018), era_of(1988)
    ('令和', '平成', '昭和')
    """
    return next((name for name in ("令和", "平成", "昭和") if year > _ERA_BASE[name]), "")


def fiscal_year(text: str | None) -> int | None:
    """The Western fiscal year named by `text`, or None.

    >>> fiscal_year("H29"), fiscal_year("令和5年度"), fiscal_year("R元年度"), fiscal_year("FY2023")
    (2017, 2023, 2019, 2023)
    """
    if not text:
        return None
    s = nfkc(text).strip()
    m = _ERA_RE.search(s)
    if m:
        n = 1 if m.group(2) == "元" else int(m.group(2))
        return _ERA_BASE[m.group(1)] + n
    m = _WESTERN_RE.search(s)
    if m:
        return int(m.group(1))
    return None


def era_label(year: int) -> str:
    """`2023` -> `R5`; `2017` -> `H29`."""
    if year >= 2019:
        return f"R{year - 2018}"
    return f"H{year - 1988}"


# --- quantities --------------------------------------------------------------------------------------------

_PLACEHOLDER_RE = re.compile(r"^[\s\-‐‑‒–—―−]*$")
_KANJI_UNITS = {"兆": 1e12, "億": 1e8, "万": 1e4, "千": 1e3}
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_COMPOUND_RE = re.compile(rf"({_NUM})\s*([兆億万千])")
_PLAIN_RE = re.compile(rf"({_NUM})")
_APPROX = ("約", "およそ", "概ね", "延べ")


def parse_quantity(raw: str) -> Quantity:
    """Parse a printed figure. The raw text is kept exactly; placeholders get `value=None`.

    Japanese numeral units combine: `5万2千件` = 5*10^4 + 2*10^3 = 52000 (unit 件);
    `1.5億円` = 1.5e8 (unit 円). A `%`/`％` sign becomes unit `%`.
    """
    text = nfkc(raw).strip()
    approx = text.startswith(_APPROX[:3])
    body = text
    for p in _APPROX:
        if body.startswith(p):
            body = body[len(p) :]
            approx = approx or p == "約"
    body = body.strip()
    if _PLACEHOLDER_RE.match(body) or not re.search(r"\d", body):
        return Quantity(raw=raw.strip(), value=None, unit=None, approx=approx)
    value: float | None = None
    rest = body
    parts = list(_COMPOUND_RE.finditer(body))
    if parts and parts[0].start() == 0 or (parts and body[: parts[0].start()].strip() == ""):
        total = 0.0
        end = 0
        for m in parts:
            if body[end : m.start()].strip():
                break
            total += float(m.group(1).replace(",", "")) * _KANJI_UNITS[m.group(2)]
            end = m.end()
        tail = _PLAIN_RE.match(body[end:].lstrip())
        if tail and body[end:].lstrip()[tail.end() :][:1] not in ("年", "月"):
            total += float(tail.group(1).replace(",", ""))
            end = end + (len(body[end:]) - len(body[end:].lstrip())) + tail.end()
        value = total
        rest = body[end:]
    else:
        pm = _PLAIN_RE.search(body)
        if pm is None:
            return Quantity(raw=raw.strip(), value=None, unit=None, approx=approx)
        value = float(pm.group(1).replace(",", ""))
        rest = body[pm.end() :]
    unit = rest.strip().strip("()（）").strip() or None
    if unit and unit.startswith("%"):
        unit = "%"
    return Quantity(raw=raw.strip(), value=value, unit=unit, approx=approx)


def number_tokens(text: str) -> set[str]:
    """Every number in `text`, normalised for comparison (`1,187` -> `1187`, `72.50` -> `72.5`).

    Japanese compound figures also contribute their value (`5万2千` -> `52000`). Used by the answer
    verifier: a figure in an answer must be among the number tokens of a cited source.
    """
    s = nfkc(text)
    out: set[str] = set()
    for m in re.finditer(rf"{_NUM}(?:\s*[兆億万千](?:\s*{_NUM}\s*[兆億万千])*)?", s):
        q = parse_quantity(m.group(0))
        plain = m.group(0).split()[0]
        for v in (q.value, _plain_value(plain)):
            if v is not None:
                out.add(_fmt(v))
    return out


def _plain_value(s: str) -> float | None:
    m = _PLAIN_RE.match(s)
    return float(m.group(1).replace(",", "")) if m else None


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(round(v, 6)).rstrip("0").rstrip(".")


# --- measure ids -------------------------------------------------------------------------------------------

# A measure number: one or more bureau prefixes (kanji) joined by ・, then digits; "企 21" allowed.
MEASURE_ID_RE = re.compile(r"([\u4e00-\u9fff](?:・[\u4e00-\u9fff])*)\s*(\d{1,3})")


def normalize_measure_id(text: str) -> str:
    """`企 21` -> `企21`; `出・総 1` -> `出・総1`; full-width forms folded by NFKC."""
    s = re.sub(r"\s+", "", nfkc(text))
    return s.replace("･", "・")


MAX_RANGE = 100


def expand_measure_ref(text: str) -> list[str]:
    """Expand a KPI table's measure cell: `企8～11,29` -> [企8, 企9, 企10, 企11, 企29]; `総3,4` -> [総3, 総4]."""
    s = normalize_measure_id(text).replace("〜", "～").replace("~", "～").replace("、", ",")
    out: list[str] = []
    prefix = ""
    for part in s.split(","):
        m = re.match(r"^([^\d～]*)(\d+)(?:～(\d+))?$", part)
        if not m:
            continue
        prefix = m.group(1) or prefix
        lo = int(m.group(2))
        hi = int(m.group(3)) if m.group(3) else lo
        if hi - lo > MAX_RANGE:  # a typo such as 企1～9999 is not 9,999 measures
            hi = lo
        out.extend(f"{prefix}{n}" for n in range(lo, hi + 1))
    return out
