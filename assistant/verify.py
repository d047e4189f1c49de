"""The verification gate: every figure and department an answer states must occur in a cited source.

The sources are the verbatim source lines of the cited records, their goal headings and table headers, the
documents' titles and the facts the answer computed (assistant/respond.py `gate_sources`), never our own
rendering of a record.

Numbers are compared after NFKC and ingest's number normalisation (`1,187` = `1187`, `5万2千` = `52000`);
a Western fiscal year also passes when a cited source prints its era form (`H29` backs `2017`).
A sentence that fails is dropped; if nothing is left, the answer abstains. `missing_asked` checks that an answer
holds what was asked (a figure in the asked counter).
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from ingest.normalize import fiscal_year, nfkc, number_tokens

__all__ = [
    "unsupported",
    "verify_lines",
    "missing_asked",
    "listed_count",
    "asks_counter",
    "holds_figure_in",
    "counts_in",
    "stated_figures",
]

COUNTERS = Path(__file__).with_name("vocab") / "counters.toml"
with COUNTERS.open("rb") as _f:
    _COUNTERS = tomllib.load(_f)["counter"]
_GROUPS: list[tuple[str, ...]] = [tuple(c["names"]) for c in _COUNTERS]
# an English question counts in words (「how many times」): each word stands for its group's first counter
_ENGLISH = {w.lower(): c["names"][0] for c in _COUNTERS for w in c.get("english", [])}
_ASKED_ENGLISH = re.compile(
    r"\bhow many (?:[a-z-]+ ){0,2}?("
    + "|".join(sorted(map(re.escape, _ENGLISH), key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)
_ASKED_UNIT = re.compile(
    "何\\s*(" + "|".join(sorted({re.escape(n) for g in _GROUPS for n in g}, key=len, reverse=True)) + ")"
)

_ERA_RE = re.compile(r"(?:令和|平成|R|H)\s*(?:元|\d{1,2})(?:\.\d{1,2}(?!\d))?")
# a measure id stands alone (企15, 出・総1): not preceded by a kanji, not followed by more of a figure
_MEASURE_RE = re.compile(
    r"(?<![\u4e00-\u9fff\d])[\u4e00-\u9fff](?:・[\u4e00-\u9fff])*\s*\d{1,3}(?![\d.,万千億兆])"
)


def _source_numbers(sources: list[str]) -> set[str]:
    nums: set[str] = set()
    for s in sources:
        nums |= _numbers_of(s)
    return nums


@lru_cache(maxsize=4096)
def _numbers_of(source: str) -> frozenset[str]:
    """A source's figures and the Western years of its era labels (sources are the index's own lines: kept)."""
    nums = set(number_tokens(source))
    for m in _ERA_RE.finditer(nfkc(source)):
        y = fiscal_year(m.group(0))
        if y:
            nums.add(str(y))
    return frozenset(nums)


def unsupported(sentence: str, sources: list[str], departments: list[str]) -> list[str]:
    """The figures and department names in `sentence` that no source contains."""
    src = nfkc(" ".join(sources)).replace(" ", "")
    nums = _source_numbers(sources)
    text = nfkc(sentence)
    bad = []
    for d in departments:
        if nfkc(d).replace(" ", "") in text.replace(" ", "") and nfkc(d).replace(" ", "") not in src:
            bad.append(d)
    # numbers inside measure ids and era labels are checked as labels, not figures
    stripped = _MEASURE_RE.sub(
        lambda m: " " if nfkc(m.group(0)).replace(" ", "") in src else m.group(0), text
    )
    stripped = _ERA_RE.sub(lambda m: " " if _era_ok(m.group(0), nums, src) else m.group(0), stripped)
    for n in number_tokens(stripped):
        if n not in nums:
            bad.append(n)
    return bad


def _era_ok(label: str, nums: set[str], src: str) -> bool:
    y = fiscal_year(label)
    return label.replace(" ", "") in src or (y is not None and str(y) in nums)


def verify_lines(lines: list[str], sources: list[str], departments: list[str]) -> tuple[list[str], list[str]]:
    """Keep the lines whose every figure and department is backed by a source; return (kept, problems)."""
    kept, problems = [], []
    for line in lines:
        bad = unsupported(line, sources, departments)
        if bad:
            problems.append(f"dropped: {line[:60]}… unsupported {bad}")
        else:
            kept.append(line)
    return kept, problems


# 「事故の件数は？」「参加した人数って？」「削減できたページ数は？」 ask a figure in that counter as 「何件」 does
_ASKED_COUNT = re.compile(
    "(?<!法)("
    + "|".join(
        sorted({re.escape(n) for g in _GROUPS for n in g if not n.endswith("数")}, key=len, reverse=True)
    )
    + ")数(?:は|って|を|が)?\\s*(?:[?？]|$|いくつ|何|どれ|教え)"
)


def _asked(question: str) -> tuple[str, str] | None:
    """(the counter a question asks its figure in, the words that ask it), or None."""
    q = nfkc(question)
    m = _ASKED_UNIT.search(q) or _ASKED_COUNT.search(q)
    if m:
        return m.group(1), m.group(0)
    e = _ASKED_ENGLISH.search(q)
    return (_ENGLISH[e.group(1).lower()], e.group(0)) if e else None


def asks_counter(question: str) -> bool:
    """Does the question ask its figure in a counter (「何件」「何人」「how many times」)?"""
    return _asked(question) is not None


def missing_asked(question: str, lines: list[str]) -> str | None:
    """The asked-attribute check: the counter a question asks its figure in (「何基」) when no figure of the answer
    is in that counter (the answer does not answer what was asked), else None."""
    asked = _asked(question)
    if not asked:
        return None
    return None if _figure_in(" ".join(lines), asked[0]) else asked[1]


def listed_count(question: str, text: str) -> tuple[str, str] | None:
    """「何種類やったの？」 of a record that prints no such figure but lists its items (「…実証 ・A ・B ・C【新規】」):
    (a line with the count in the asked counter and the items, the count as derived), else None."""
    asked = _asked(question)
    if not asked or _figure_in(text, asked[0]):
        return None
    items = [re.sub(r"【[^】]*】\s*$", "", x).strip() for x in re.split(r"\s+・\s*", nfkc(text).strip())[1:]]
    items = [x for x in items if x]
    if len(items) < 2:
        return None
    count = f"{len(items)}{asked[0]}"
    return f"挙げられているのは{count}です（{'、'.join(items)}）。", count


def counts_in(question: str, unit: str | None) -> bool:
    """Can a record in `unit` answer the counter `question` asks in? (「削減できたページ数は？」 is not answered by a
    KPI in ％.) True when the question asks no counter, the unit is not known, or a share is asked (every KPI has
    its 達成率 in ％)."""
    asked = _asked(question)
    if not asked or not unit:
        return True
    same = _same_counter(asked[0])
    return "%" in same or any(n in nfkc(unit) for n in same)


def _same_counter(counter: str) -> set[str]:
    """`counter` and the counters grouped with it in vocab/counters.toml (件 -> 件, 回)."""
    return {n for g in _GROUPS if counter in g for n in g} or {counter}


def stated_figures(text: str) -> set[str]:
    """The figures `text` states, its years left out (R5, R2.12, 2023年度)."""
    return number_tokens(re.sub(r"\d{4}\s*年度", " ", _ERA_RE.sub(" ", nfkc(text))))


def holds_figure_in(text: str, unit: str) -> bool:
    """Does `text` print a figure in `unit`'s counter (「件/年度」 -> 件 and the counters grouped with it)?"""
    head = re.split(r"[/／]", nfkc(unit), maxsplit=1)[0].strip()
    return bool(head) and _figure_in(text, head)


def _figure_in(text: str, counter: str) -> bool:
    same = _same_counter(counter)
    units = "|".join(re.escape(u) for u in sorted(same, key=len, reverse=True))
    figure = re.compile(rf"\d[\d,.]*\s*(?:[万千]\s*(?:\d[\d,.]*)?\s*)?(?:{units})")
    if figure.search(nfkc(text)):
        return True
    # a count of items is also printed bare after its label (「再掲計 7」「事業数 177」)
    return "件" in same and bool(re.search(r"(?:計|数)\s*[:：]?\s*\d", nfkc(text)))
