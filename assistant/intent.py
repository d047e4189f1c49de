"""What a question asks for: the attributes (owner, start year, KPI target, actual, ...) and the fiscal years.

The attribute vocabulary is data: `assistant/vocab/attributes.toml`, one entry per attribute with its patterns and
example questions (checked by tests/test_vocabulary.py). Never a fact of the corpus. Japanese and English.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ingest.normalize import fiscal_year, nfkc

__all__ = [
    "Attr",
    "Intent",
    "detect",
    "topic_of",
    "without_years",
    "CONTENT_RE",
    "expand_aliases",
    "aliases",
    "with_japanese_terms",
    "japanese_terms_in",
    "english_terms",
    "ANAPHORA_RE",
    "VOCABULARY",
    "vocabulary",
]

VOCABULARY = Path(__file__).with_name("vocab") / "attributes.toml"


def _load(path: Path) -> dict[str, dict]:
    with path.open("rb") as f:
        return tomllib.load(f)


_VOCAB = _load(VOCABULARY)
ALIASES = Path(__file__).with_name("vocab") / "aliases.toml"
_ALIASES = [
    (re.compile(rf"{re.escape(a['short'])}(?![\u4e00-\u9fff])"), a["full"], a["examples"])
    for a in _load(ALIASES).get("alias", [])
]


def expand_aliases(question: str) -> str:
    """The question with each short form people use (`vocab/aliases.toml`) read as the name the documents print."""
    for rx, full, _ in _ALIASES:
        question = rx.sub(full, question)
    return question


ENGLISH = Path(__file__).with_name("vocab") / "english.toml"
_ENGLISH = [
    (re.compile("|".join(t["patterns"]), re.IGNORECASE), t["japanese"], t["examples"])
    for t in _load(ENGLISH).get("term", [])
]


def with_japanese_terms(question: str) -> str:
    """An English question with the documents' Japanese term after the words that mean it (`vocab/english.toml`):
    「which three key goals（重点目標） are listed」."""
    for rx, japanese, _ in _ENGLISH:
        m = rx.search(question)
        if m:
            question = f"{question[: m.end()]}（{japanese}）{question[m.end() :]}"
    return question


def japanese_terms_in(text: str) -> list[str]:
    """The Japanese terms `with_japanese_terms` put in `text`, in order."""
    return re.findall(r"（([^）]+)）", text)


def english_terms() -> list[tuple[str, str, list[str]]]:
    """(pattern, Japanese term, examples) of every English entry."""
    return [(rx.pattern, ja, examples) for rx, ja, examples in _ENGLISH]


def aliases() -> list[tuple[str, str, list[str]]]:
    """(short form, printed name, examples) of every alias entry."""
    return [(rx.pattern, full, examples) for rx, full, examples in _ALIASES]


_COMPILED = {name: re.compile("|".join(entry["patterns"]), re.IGNORECASE) for name, entry in _VOCAB.items()}

ANAPHORA_RE = re.compile(
    # a connective (「じゃあ」「では」) opens a follow-up but refers to nothing: 「じゃあセミナーは？」 may change subject
    r"^(?:(?:それで|では|じゃあ|じゃ|で)[、,]?\s*)?(?:その|それ|この|これ|あの|同じ(?!く)|上記|そちら|こちら)"
    r"|^(?:担当|目標|実績|現状|開始|概要|KPI)"
    # inside the question too: 「実際にその目標には届いてる？」 (not その他, not それぞれ)
    r"|(?:その|この|当該)(?!他|ほか|後|際|時|上|中|まま)(?=[\u4e00-\u9fff\u30a0-\u30ff])|それ(?!ぞれ)(?:って|は|の|が|に|を|で)"
    r"|\b(?:it|its|that|this|they|them|those)\b",
    re.IGNORECASE,
)
# years said relative to today (「来年度の…」): the fiscal year starts in April
_RELATIVE_YEAR = re.compile(r"(再来|来|今)年度?")
_RELATIVE_SHIFT = {"今": 0, "来": 1, "再来": 2}


def current_fiscal_year(today: datetime.date | None = None) -> int:
    today = today or datetime.date.today()
    return today.year if today.month >= 4 else today.year - 1


_YEAR_RE = re.compile(
    r"(?:令和|平成|R|H)\s*(?:元|\d{1,2})(?:\s*年度?)?|FY\s*\d{4}|(?:19|20)\d{2}\s*年度?|\bin (?:19|20)\d{2}\b",
    re.IGNORECASE,
)
# a year that names a document (「R5実績の資料で」「令和5年度実績のレポート」) dates the report, not what is asked
_DOCUMENT_AFTER = re.compile(
    r"\s*(?:年度)?\s*(?:の)?\s*(?:実績)?\s*(?:の)?\s*(?:資料|報告書?|レポート|report\b)", re.IGNORECASE
)
# the plan's items counted (「KPIはいくつ？」「施策って全部で何件？」), not a KPI that counts (「件数に関するKPI」)
_COUNTS_ITEMS = re.compile(
    r"(?:KPI|指標|施策)[^。?？]{0,10}(?:いくつ|何件|何個|何本|総数|数は|の数)|(?:いくつ|何個|何件)の(?:KPI|指標|施策)"
    r"|how many (?:\w+ ){0,3}(?:KPIs|measures|indicators)|number of (?:\w+ ){0,2}(?:KPIs|measures|indicators)",
    re.IGNORECASE,
)
# 「概要を教えて」「どんな内容？」: a record's content is asked, whatever was asked before
CONTENT_RE = re.compile(
    r"概要|内容|中身|目的|詳し|どんな(?!数|値)|どういう|\b(?:describe|details?|overview)\b", re.I
)
_FINAL_RE = re.compile(r"(?:計画の)?(?:最終|最後)(?:の)?(?:年度|年)?|\bfinal(?: year)?\b", re.IGNORECASE)


class Attr(StrEnum):
    """What a question can ask. Every entry of the vocabulary file is one of these (checked at load), and every
    `Intent.has` call names one (a typo raises instead of silently never matching)."""

    OWNER = "owner"
    START_YEAR = "start_year"
    TARGET = "target"
    BASELINE = "baseline"
    BASELINE_DATE = "baseline_date"
    ACTUAL = "actual"
    MET = "met"
    WHAT = "what"
    LIST = "list"
    COUNT = "count"
    COUNT_ITEMS = "count_items"  # derived: 「KPIはいくつ？」 counts items of the plan
    GLOSSARY = "glossary"
    GLOSSARY_MAYBE = (
        "glossary_maybe"  # derived: 「Xって何？」 may ask a term's meaning or a measure's content
    )
    BUDGET = "budget"
    CONTACT = "contact"
    PERSON = "person"
    KPI = "kpi"
    AS_OF = "as_of"
    FIGURE = "figure"
    OPINION = "opinion"
    WHICH_MEASURE = "which_measure"
    CLAIM = "claim"
    NEW = "new"
    CHANGE = "change"
    PREVIOUS_YEAR = "previous_year"
    REPORT = "report"  # the progress report as the scope (「報告書の方では？」)
    RANK = "rank"  # a superlative over a set (「達成率がいちばん高いKPI」)
    PENDING = "pending"  # the plan's measures without content yet (「（調整中）の施策は？」)


_unknown = sorted(set(_VOCAB) - {a.value for a in Attr})
if _unknown:
    raise ValueError(f"{VOCABULARY}: entries {_unknown} are not attributes; known: {[a.value for a in Attr]}")


@dataclass(frozen=True)
class Intent:
    """The attributes a question asks for and the fiscal years it names."""

    asks: frozenset[Attr] = frozenset()
    years: tuple[int, ...] = ()
    final_year: bool = False
    anaphoric: bool = False
    claimed: tuple[float, ...] = ()  # figures a yes/no check asserts (「R6目標は35で合ってる？」)
    era: str = ""  # the era a yes/no check dates a start in (「平成の頃から続いてる？」 -> 平成)

    def has(self, *names: str) -> bool:
        return any(Attr(n) in self.asks for n in names)


def topic_of(question: str) -> str:
    """The question without the words that ask (every attribute-vocabulary match removed): what it is about."""
    q = nfkc(question)
    # matched on the question as asked, so 「実績報告」 is one match; 「最後の年」 asks too
    spans = [m.span() for rx in (*_COMPILED.values(), _FINAL_RE) for m in rx.finditer(q)]
    keep = [ch if not any(a <= i < b for a, b in spans) else " " for i, ch in enumerate(q)]
    return "".join(keep)


def without_years(text: str) -> str:
    """`text` with the fiscal years it names blanked: what it names, the years apart (`Query` reads them)."""
    return _YEAR_RE.sub(" ", nfkc(text))


# an era with no year, as the time something has run since: 「平成の頃から」「令和になってから」「昭和のうちから」
_ERA_SINCE = re.compile(
    r"(令和|平成|昭和)(?!\s*(?:元|\d))(?:の(?:頃|ころ|時代|うち)|に(?:入って|なって))?から"
)
_STATED_TARGET = re.compile(r"目標(?:値)?(?:の|である)\s*\d[\d,.]*")  # the question gives the target's figure
_CLAUSE = re.compile(r"[、，,]")  # a two-part question's clauses: each year belongs to its own


def _year_figure(clause: str) -> bool:
    """Does `clause` name a year and ask a figure without asking a target, baseline or KPI for it?"""
    return (
        bool(_YEAR_RE.search(clause))
        and bool(_COMPILED["figure"].search(clause))
        and not any(_COMPILED[a].search(clause) for a in ("target", "baseline", "kpi"))
    )


def detect(question: str) -> Intent:
    q = nfkc(question)
    asks = {k for k, rx in _COMPILED.items() if rx.search(q)}
    years: list[int] = []
    for m in _YEAR_RE.finditer(q):
        if _DOCUMENT_AFTER.match(q, m.end()):
            continue
        y = fiscal_year(m.group(0).replace("in ", ""))
        if y and 1989 <= y <= 2100 and y not in years:
            years.append(y)
    for m in _RELATIVE_YEAR.finditer(q):
        y = current_fiscal_year() + _RELATIVE_SHIFT[m.group(1)]
        if y not in years:
            years.append(y)
    if "met" in asks:
        asks.add("actual")
        if _STATED_TARGET.search(q):  # 「目標の1,731か所に届いた？」 states the target: it asks if it was met
            asks.discard("target")
    era = _ERA_SINCE.search(q)
    if era:  # 「平成の頃から続いてる事業？」 checks when it started: a claim about its start year's era
        asks |= {"start_year", "claim"}
    if "count" in asks and _COUNTS_ITEMS.search(q) and not years:
        asks -= {"figure", "kpi"}  # 「KPIはいくつ？」 counts the plan's items; it does not ask a KPI's figure
        asks.add("count_items")
    if (
        years
        and not asks & {"target", "baseline", "kpi", "actual"}
        and ("figure" in asks or re.search(r"どのくらい|どれくらい|いくつ|何", q))
    ):
        asks.add("actual")  # 「R5でどのくらい？」 asks for that year's figure
    elif years and "figure" in asks and "actual" not in asks and any(map(_year_figure, _CLAUSE.split(q))):
        asks.add(
            "actual"
        )  # 「計画上の現状値と、R5の実施回数」: the clause with the year asks that year's figure
    if (
        "budget" in asks
        and "count" in asks
        and not re.search(r"いくら|金額|円|予算額|決算額|how much", q, re.I)
    ):
        asks.discard("budget")  # 「費用への補助、件数いくつ？」 counts the subsidies; it asks no amount
    if "glossary" in asks and not re.search(r"意味|用語|定義|mean|stand for|definition", q, re.IGNORECASE):
        asks.discard("glossary")
        asks.add("glossary_maybe")
    return Intent(
        asks=frozenset(Attr(a) for a in asks),
        years=tuple(years),
        final_year=bool(_FINAL_RE.search(q)),
        anaphoric=bool(ANAPHORA_RE.search(q.strip())) or len(q.strip()) <= 8,
        claimed=_claimed(q) if "claim" in asks else (),
        era=era.group(1) if era else "",
    )


# a figure standing alone: not a year (R6, 2024年度), a measure's number (企22) or part of a name (5G, 第9条)
_FIGURE_RE = re.compile(
    r"(?<![A-Za-z0-9.,\u4e00-\u9fff])\d[\d,]*(?:\.\d+)?(?![\d.,]*\s*(?:年|月|日|条|つ|G(?![A-Za-z])))"
)


def _claimed(q: str) -> tuple[float, ...]:
    """The figures a yes/no question asserts, outside its years and record numbers."""
    spans = [m.span() for m in _YEAR_RE.finditer(q)]
    found = [m for m in _FIGURE_RE.finditer(q) if not any(a <= m.start() < b for a, b in spans)]
    return tuple(float(m.group(0).replace(",", "")) for m in found)


def vocabulary() -> dict[str, dict]:
    """The attribute entries as loaded (name -> patterns, examples, negatives)."""
    return _VOCAB
