"""Linking by the embedder's vectors: a part whose words share nothing with the records' names (an English
question; a Japanese one that describes a record in everyday words, 「会議の記録づくりにかかる時間を減らすやつ」 for
「議事録作成の削減時間」) is linked to the record whose *name* embeds closest (`Linker.dense`), among the kinds of
record that hold what it asks. English: when close enough (`DENSE_NAME`). Japanese: when the retrieval of the part
ranks that record's chunk first too, two views agreeing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.intent import Attr, Intent
from assistant.linker import Linker
from assistant.retrieve import Hit
from assistant.subjects import kinds_for

if TYPE_CHECKING:
    from assistant.query import Query

__all__ = ["vector_pins", "dense_pins", "agreed_pins", "DENSE_NAME", "DENSE_WHAT"]

# the attributes a record holds: a question asking one of them in another language is linked by its names' vectors
_RECORD_ASKS = (
    "owner",
    "start_year",
    "target",
    "baseline",
    "baseline_date",
    "actual",
    "met",
    "kpi",
    "change",
    "figure",
)
_FIGURE_KINDS = ("kpi", "progress_kpi", "initiative")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]{2,}")
# cosine of an English part to the closest record name (multilingual-e5, query vs passage) for it to name that
# record; chosen on the development halves: 0.78-0.82 all fix more than they break, 0.80 is the middle
DENSE_NAME = 0.80
# ... and for a question asking what a measure does, among measures only: an overview question ("What years does
# the plan cover?") comes close to some measure's name too; on the development halves 0.82 fixed one, broke none
DENSE_WHAT = 0.82
_DOING = re.compile(r"\b(?:do|does|doing|did|done)\b", re.IGNORECASE)


def dense_pins(text: str, linker: Linker, intent: Intent, follow_up: bool = False) -> tuple[str, ...]:
    """The record an English part names, when the records' names cannot share its words: the record name closest
    to it in the embedder's space, among the kinds that hold what it asks, if close enough (`DENSE_NAME`). A part
    that gives a Japanese name, or in a conversation says "it", is linked as it is (by the bigram linker, or by
    what it refers to)."""
    if (follow_up and intent.anaphoric) or _JAPANESE.search(text):
        return ()
    if not intent.has(*_RECORD_ASKS):  # what a measure does: a measure's name, closer still (`DENSE_WHAT`)
        # what is done ("What is Miyagi doing about ...", "What does it do?"); "What is open data?" asks a term
        content = (
            intent.has("what") and not intent.has("glossary", "glossary_maybe") and bool(_DOING.search(text))
        )
        near = linker.dense(text, ("measure",), top=1) if content else []
        return (near[0][0].ref,) if near and near[0][1] >= DENSE_WHAT else ()
    near = linker.dense(text, _kinds(intent), top=1)
    return (near[0][0].ref,) if near and near[0][1] >= DENSE_NAME else ()


def vector_pins(
    text: str, intent: Intent, retrieved: list[Hit], query: Query, linker: Linker
) -> tuple[str, ...]:
    """A part that names no record by its words: linked by the records' names in the embedder's space (English:
    `dense_pins`; Japanese: `agreed_pins`, against the first of the retrieved chunks and the dense ranker's own first)."""
    if query.english:
        return dense_pins(text, linker, intent, query.follow_up)
    first = {h.chunk.record_ref for i, h in enumerate(retrieved) if i == 0 or h.ranks.get("dense") == 1}
    return agreed_pins(text, linker, intent, first)


def agreed_pins(text: str, linker: Linker, intent: Intent, top_refs: set[str]) -> tuple[str, ...]:
    """The record a Japanese part describes in words of its own (「会議の記録づくりにかかる時間を減らすやつ」 for
    「議事録作成の削減時間」): the record name closest to it in the embedder's space, among the kinds that hold what
    it asks, when the retrieval of the part ranks that record's chunk first too (`top_refs`): two views agree. A
    yes/no check is linked by what it claims, not here."""
    if not intent.has(*_RECORD_ASKS, "what") or intent.has("claim"):
        return ()
    near = linker.dense(text, _kinds(intent), top=1)
    return (near[0][0].ref,) if near and near[0][0].ref in top_refs else ()


def _kinds(intent: Intent) -> tuple[str, ...]:
    """The kinds of record that hold what is asked, by name; a figure is a KPI's or a bullet's, no measure's."""
    kinds = tuple(x for x in kinds_for(intent) if x not in ("glossary", "totals"))
    if intent.asks <= {Attr.FIGURE, Attr.ACTUAL, Attr.COUNT}:
        kinds = tuple(x for x in kinds if x in _FIGURE_KINDS) or _FIGURE_KINDS
    return kinds
