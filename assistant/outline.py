"""Outline answers: 「Xって何？」 where X names a heading of a document answers with its sub-headings (or, when
several headings share X, with those siblings): the plan's structure read from its headings, not a passage."""

from __future__ import annotations

import re

from assistant.answer import answer_outline
from assistant.draft import Draft
from assistant.intent import Intent
from assistant.knowledge import Knowledge
from ingest.records import Section
from ingest.tokenize import tokenize

__all__ = ["Outline"]


class Outline:
    """The heading tree of the catalog's sections, built once per index."""

    def __init__(self, k: Knowledge, generic: set[str]) -> None:
        self.k = k
        self.generic = generic
        sections = k.catalog.sections
        self._title_tokens = [(x, set(tokenize(x.title))) for x in sections if x.title]
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
        if intent.has("count", "figure") or (
            not intent.has("what", "list") and not re.search(r"何と何|どれ|なに", q)
        ):
            return None
        content = {
            t
            for t in tokenize(q)
            if t not in self.generic
            and t in k.vocabulary
            and not t.isdigit()
            and not (len(t) == 1 and not "\u4e00" <= t <= "\u9fff")
        }
        if not content:
            return None
        cands = [sec for sec, toks in self._title_tokens if content <= toks]
        with_children = [(sec, kids) for sec in cands if (kids := self._children.get(sec.section_id))]
        if with_children:
            parent, kids = min(with_children, key=lambda x: len(x[0].title))
            return answer_outline(parent, kids, k)
        by_parent: dict[tuple[str, ...], list] = {}
        for sec in cands:
            by_parent.setdefault(tuple(sec.path[:-1]), []).append(sec)
        groups = [g for g in by_parent.values() if len(g) >= 2]
        if groups:
            group = max(groups, key=len)
            above = next((x for x in k.catalog.sections if x.path == list(group[0].path[:-1])), None)
            return answer_outline(above, group, k)
        return None
