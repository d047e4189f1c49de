"""The kind of thing a question wants back, and whether a text holds one: 「いつ」 wants a date, 「一番」 a ranking,
「誰」「どの会社」 a person or an organisation. The vocabulary is data (`vocab/answer_types.toml`).

Two uses: passage selection prefers a passage (and a sentence) that holds the asked type (「デジタルファースト宣言は
いつ？」 takes the paragraph that prints its date over one that only mentions the declaration); and an answer that
does not hold it is not sent (`lacks_asked_type`), as `verify.missing_asked` does for counters. A person or an
organisation is also recognised by a person name (Sudachi: 固有名詞・人名) for words the question does not use.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from assistant.knowledge import squash
from assistant.verify import missing_asked
from ingest.normalize import era_label, nfkc
from ingest.tokenize import place_names, proper_nouns, tokenize

__all__ = [
    "asked_type",
    "blank_day",
    "holds_type",
    "lacks_asked_type",
    "not_what_was_asked",
    "own_area",
    "types",
    "unmentioned_name",
    "without",
    "ANSWER_TYPES",
]

ANSWER_TYPES = Path(__file__).with_name("vocab") / "answer_types.toml"


@lru_cache(maxsize=1)
def types() -> dict[str, dict]:
    with ANSWER_TYPES.open("rb") as fh:
        raw = tomllib.load(fh)
    return {
        name: {
            **entry,
            "_q": re.compile("|".join(f"(?:{p})" for p in entry["patterns"]), re.IGNORECASE),
            "_a": re.compile("|".join(f"(?:{p})" for p in entry["fillers"]), re.IGNORECASE),
        }
        for name, entry in raw.items()
    }


def asked_type(question: str) -> tuple[str, str] | None:
    """(type, the words that ask it) for the first type the question asks, else None."""
    q = nfkc(question)
    for name, entry in types().items():
        m = entry["_q"].search(q)
        if m:
            return name, m.group(0)
    return None


def holds_type(kind: str, text: str, question: str = "") -> bool:
    """Does `text` hold a `kind` filler that is not one of the question's own words?"""
    t, q = nfkc(text), nfkc(question)
    if kind == "place":
        return _holds_place(t, q)
    if (
        kind == "items"
    ):  # 「5つの原則は？」: the answer lists them, two at least (a passage naming the set lists none)
        return _listed_items(text) >= 2 or len(set(re.findall(r"[①-⑨]", text))) >= 2  # before NFKC: ① -> 1
    own = types()[kind].get("own_words", False)  # the asserted date, stated back, confirms it
    for m in types()[kind]["_a"].finditer(t):
        if own or m.group(0) not in q:
            return True
    if kind == "who":
        return any(n not in q for n in proper_nouns(t, ("人名",)))
    return False


def _listed_items(t: str) -> int:
    return sum(
        1 for line in t.splitlines() if re.match(r"\s*(?:[・●]|[①-⑨]|[（(][1-9一二三四五][)）])", line)
    )


_COUNTED_PLACES = re.compile(
    r"(?:[2-9]|\d{2,}|[二三四五六七八九十])\s*(?:つの)?(?:市町村|市町|市|町|自治体|施設|か所|箇所|校)"
)


def _holds_place(t: str, q: str) -> bool:
    """Place names or facilities the question does not name; 「7市町ってどこ？」 asks for several, and one (the
    town a power plant is named after) is not the answer."""
    found = {m.group(0) for m in types()["place"]["_a"].finditer(t) if m.group(0) not in q}
    found |= {n for n in proper_nouns(t, ("地名",)) if n not in q}
    return len(found) >= (2 if _COUNTED_PLACES.search(q) else 1)


def lacks_asked_type(question: str, lines: list[str], titles: tuple[str, ...] = ()) -> str | None:
    """The words that ask a type no line holds (the answer does not answer what was asked), else None. The
    documents' titles are not part of an answer's content (「R5年度実績」 in a source name dates nothing asked)."""
    asked = asked_type(question)
    text = without("\n".join(lines), titles)
    if asked is None or holds_type(asked[0], text, question):
        return None
    return asked[1]


def not_what_was_asked(
    question: str,
    lines: list[str],
    titles: tuple[str, ...] = (),
    counted: bool = True,
    owners: tuple[str, ...] = (),
) -> str | None:
    """Why an answer does not answer what was asked, said to the user, or None: no figure in the asked counter
    (「何基」, `verify.missing_asked`; not when `counted` is off: 「何回開くかって指標、どの施策の？」 asks a
    measure), no department of `owners` where the owner is asked (a report bullet names none), or not the asked
    kind of thing (a date for 「いつ」, a name for 「誰」)."""
    unit = missing_asked(question, lines) if counted else None
    if unit:
        return f"資料には、ご質問の「{unit}」に当たる数値の記載が見当たりません。"
    if owners and not any(o in line for line in lines for o in owners):
        return "資料には、お尋ねの取組の担当所属（部局・課）の記載が見当たりません。"
    wanted = lacks_asked_type(question, lines, titles)
    return f"資料には、ご質問の「{wanted}」に当たる記載が見当たりません。" if wanted else None


def without(text: str, names: Iterable[str]) -> str:
    """`text` with every one of `names` blanked out (the documents' titles, their own area)."""
    for name in names:
        text = text.replace(name, " ")
    return text


def own_area(texts: Iterable[str], share: float = 0.05) -> tuple[str, ...]:
    """Place names in at least `share` of `texts` (the index's chunks): the area the documents are about, which
    answers no 「どこ」."""
    counts: dict[str, int] = {}
    n = 0
    for text in texts:
        n += 1
        for name in place_names(text):
            counts[name] = counts.get(name, 0) + 1
    return tuple(sorted((x for x, c in counts.items() if c >= share * n), key=len, reverse=True))


def unmentioned_year(years: tuple[int, ...], lines: list[str], after: int) -> int | None:
    """A year the question names after `after` (the plan's last) that the answer does not mention: the documents
    say little past their period, so an answer about something else (「令和7年度以降の目標は？」 answered with the
    current plan's) does not answer it."""
    later = [y for y in years if y > after]
    said = set(tokenize("\n".join(lines))) if later else set()
    return next((y for y in later if era_label(y).lower() not in said), None)


_LATIN_NAME = re.compile(r"(?=[a-z0-9-]*[a-z])[a-z0-9][a-z0-9-]+")


def unmentioned_name(question: str, lines: list[str], known: Callable[[str], bool]) -> str | None:
    """A Latin-script name a Japanese question gives (MICA, 5G, Wi-Fi), one the documents use (`known`), that the
    answer does not hold: the records it quotes are about something else (「MICAアプリの登録者数」 answered with
    another app's figure). Era years (R5) and question words are not names."""
    if re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}", nfkc(question)):
        return None  # an English sentence: its words are not names
    said = nfkc("\n".join(lines)).lower().replace(" ", "")
    for t in dict.fromkeys(tokenize(question)):
        if _LATIN_NAME.fullmatch(t) and not re.fullmatch(r"[rh]\d+|fy\d+", t) and known(t) and t not in said:
            m = re.search(re.escape(t), nfkc(question), re.IGNORECASE)
            return m.group(0) if m else t  # as the question spells it
    return None


_DAY_ASKED = re.compile(r"何日|何月何日|日付|月日|\bwhat date\b|\bwhich day\b|\bon what day\b", re.I)
_BLANK_DAY = re.compile(
    r"\d{1,2}\s*月\s+日(?:予定)?"
)  # 「２月 日予定」: the day left blank in a draft schedule


def blank_day(question: str, lines: list[str]) -> str | None:
    """The date as printed (「2月 日予定」) when the question asks the day of something the answer's text dates
    with its day left blank (a schedule drafted before the day was set), else None."""
    if not _DAY_ASKED.search(nfkc(question)):
        return None
    q, text = squash(question), nfkc("\n".join(lines))
    for m in _BLANK_DAY.finditer(text):
        after = squash(text[m.end() : m.end() + 30])
        run = difflib.SequenceMatcher(None, after, q, autojunk=False).find_longest_match(
            0, len(after), 0, len(q)
        )
        # the blank date is the one of the thing the question names (the same 第N回, where both number it)
        nth = [re.findall(r"第(\d+)回", x)[:1] for x in (after, q)]
        if run.size >= 4 and not (all(nth) and nth[0] != nth[1]):
            return m.group(0)
    return None
