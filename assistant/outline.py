"""Outline answers: 「Xって何？」 where X names a heading of a document answers with its sub-headings (or, when
several headings share X, with those siblings): the plan's structure read from its headings, not a passage."""

from __future__ import annotations

import re

from assistant.answer import answer_outline
from assistant.draft import Draft
from assistant.english import latin_share
from assistant.intent import Intent, topic_of
from assistant.knowledge import Knowledge
from assistant.passages import ancestry
from ingest.records import Section
from ingest.tokenize import content_tokens, tokenize

__all__ = ["Outline", "HEADING_COVERAGE", "counts_parts"]

HEADING_COVERAGE = (
    0.6  # share of the question's words (IDF-weighted) a heading must hold to answer by its parts
)
_COUNTED = re.compile(
    r"([0-9０-９一二三四五六七八九十]+)\s*(?:つ|個|本|項目|点)|\b(two|three|four|five|six|seven|eight|nine|ten)\b"
    r"(?= (?:\w+ )?(?:goals|pillars|principles|policies|parts|chapters|items|objectives|areas)\b)",
    re.IGNORECASE,
)
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九十")}
_ENGLISH_DIGITS = {
    w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())
}


def counts_parts(q: str) -> bool:
    """Does the question count the parts it asks for (「3つの重点目標」, "the three priority goals")?"""
    return bool(_COUNTED.search(q))


def _count_fits(q: str, n: int) -> bool:
    """「5つの柱」 counts five parts: a heading with another number of parts is not the one asked about."""
    m = _COUNTED.search(q)
    if not m:
        return True
    raw = m.group(1) or m.group(2).lower()
    value = int(raw) if raw.isdigit() else _KANJI_DIGITS.get(raw, _ENGLISH_DIGITS.get(raw, -1))
    return value == n


class Outline:
    """The heading tree of the catalog's sections, built once per index."""

    def __init__(self, k: Knowledge, generic: set[str]) -> None:
        self.k = k
        self.generic = generic
        sections = k.catalog.sections
        self._title_tokens = [(x, set(tokenize(x.title))) for x in sections if x.title]
        # a heading as readers name it: with its chapter (「第4章 官民データ計画… 1 …５つの柱」)
        self._headings = {x.section_id: " ".join(ancestry(sections, x)) for x in sections if x.title}
        self._children: dict[str, list[Section]] = {}
        for x in sections:
            parent = next(
                (y for y in sections if y.doc_id == x.doc_id and y.path == x.path[:-1] and x.path), None
            )
            if parent is not None and parent is not x:
                self._children.setdefault(parent.section_id, []).append(x)

    def answer(self, q: str, intent: Intent) -> Draft | None:
        k = self.k
        """「Xって何？」 where X names a heading: answer with its sub-headings (or its sibling headings)."""
        if intent.has("figure", "count_items") or (
            not intent.has("what", "list", "count")
            and not counts_parts(q)
            and not re.search(r"何と何|どれ|なに", q)
        ):
            return None
        # an English question names a heading by the Japanese words it gives (「(重点目標)」), if any
        japanese = " ".join(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]{2,}", q))
        words = content_tokens(
            topic_of(japanese if latin_share(q) > 0.5 else q)
        )  # 「実績報告に載っている」 asks
        content = {
            t
            for t in words
            if t not in self.generic
            and t in k.vocabulary
            and not t.isdigit()
            and not (len(t) == 1 and not "\u4e00" <= t <= "\u9fff")
        }
        if not content:
            return None
        cands = [sec for sec, toks in self._title_tokens if content <= toks]
        # of those, the headings that hold most of the question's words, question words too (「基本目標」 over
        # 「基本姿勢」 for 「基本目標って何？」)
        asked = set(words)
        most = max((len(asked & toks) for sec, toks in self._title_tokens if sec in cands), default=0)
        cands = [sec for sec, toks in self._title_tokens if sec in cands and len(asked & toks) == most]
        with_children = [(sec, kids) for sec in cands if (kids := self._children.get(sec.section_id))]
        if with_children:
            parent, kids = min(with_children, key=lambda x: len(x[0].title))
            return answer_outline(parent, kids, k)
        by_parent: dict[tuple[str, ...], list] = {}
        for sec in cands:
            by_parent.setdefault(tuple(sec.path[:-1]), []).append(sec)
        groups = [g for g in by_parent.values() if len(g) >= 2]
        # one heading named whole, without parts: its own text answers, not a look-alike's parts
        if cands and not groups:
            return None
        # a heading named by most of the question's words, among others (「第4章に出てくる…5つの柱」), with the
        # number of parts the question counts when it counts them
        scored = [
            (k.coverage(q, self._headings[sec.section_id], self.generic), -len(sec.title), sec, kids)
            for sec, _ in self._title_tokens
            if (kids := self._children.get(sec.section_id)) and _count_fits(q, len(kids))
        ]
        best = max(scored, key=lambda x: x[:2], default=None)
        if best and best[0] >= HEADING_COVERAGE:
            return answer_outline(best[2], best[3], k)
        if groups:
            group = max(groups, key=len)
            above = next((x for x in k.catalog.sections if x.path == list(group[0].path[:-1])), None)
            return answer_outline(above, group, k)
        return None
