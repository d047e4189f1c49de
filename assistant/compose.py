"""Completing a draft with an asked part its record cannot hold: the department in charge, when a part names a
measure and asks its owner beside what the report says of it (「基幹業務システムの構築、計画ではどこの課の担当で、
R5報告だとどこまで進んでますか？」 is answered from the report's bullet, which names no department)."""

from __future__ import annotations

from assistant.answer import answer_owner
from assistant.draft import Draft
from assistant.knowledge import Knowledge
from assistant.query import Part

__all__ = ["with_owner"]


def with_owner(part: Part, d: Draft, k: Knowledge) -> Draft:
    """`d`, led by the owner of the measure the part names when the part asks the owner and `d` does not say it."""
    if not (part.intent.has("owner") and d.answerable) or part.claims:
        return d
    named = list(part.ids) or [ref.split("@")[0] for ref in part.pins]
    mids = [m for m in named if m in k.listings]
    if not mids:
        return d
    said = " ".join(d.lines)
    if any(o.section and o.section in said for _, owners in k.owners(mids[0]) for o in owners):
        return d
    owner = answer_owner(k, mids[0], part.intent)
    if not owner.answerable:
        return d
    owner.extend(d)
    return owner
