"""Completing a draft with an asked part its record cannot hold: the department in charge, when a part names a
measure and asks its owner beside what the report says of it (「基幹業務システムの構築、計画ではどこの課の担当で、
R5報告だとどこまで進んでますか？」 is answered from the report's bullet, which names no department); and the verdict of
「AとB、どっちが多い？」 from the one figure each side's answer gives."""

from __future__ import annotations

import re

from assistant.answer import answer_owner
from assistant.draft import Draft
from assistant.english import latin_share
from assistant.knowledge import Knowledge
from assistant.query import Part
from ingest.normalize import nfkc

__all__ = ["with_owner", "which_of_two"]


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


def _comparing(stems: str, english: str) -> re.Pattern[str]:
    """「どっちが大きい？」「大きいのはどっち？」「which saved more?」: the stem that compares (大き -> 大きい)."""
    return re.compile(
        rf"(?:どちら|どっち)(?:が|の方が|のほうが)?[^?？。]{{0,10}}?({stems})|({stems})い(?:の|ほう|方)(?:は|って)"
        rf"(?:どちら|どっち)|\bwhich\b.*\b({english})\b",
        re.I,
    )


_MORE = _comparing("大き|多|高|長", "more|larger|bigger|higher|greater")
_LESS = _comparing("少な|低|小さ|短", "fewer|less|smaller|lower")
# a report bullet's one count: 「e-ラーニング研修（2,005人）」
_COUNTED = re.compile(
    r"([^\s（(：:]+?)[（(][^）)]*?(\d[\d,]*(?:\.\d+)?)\s*(人|件|回|者|団体|所属|市町村|h|時間|%)[）)]"
)


def which_of_two(question: str, drafts: list[Draft]) -> str | None:
    """The verdict of 「AとB、どっちが多い？」 when each of the two answers gives one figure in the same unit: the
    record with the larger (or smaller) one first, both figures as printed."""
    q = nfkc(question)
    m = _MORE.search(q) or _LESS.search(q)
    if not m or len(drafts) != 2 or not all(d.answerable for d in drafts):
        return None
    a, b = (_figure(d) for d in drafts)
    if not (a and b) or a[3] != b[3]:
        return None
    larger = bool(_MORE.search(q))
    win, lose = (a, b) if (a[2] > b[2]) == larger else (b, a)
    if latin_share(q) > 0.5:
        same = "the same as" if a[2] == b[2] else ("larger than" if larger else "smaller than")
        return f"「{win[0]}」 ({win[1]}) is {same} 「{lose[0]}」 ({lose[1]})."
    if a[2] == b[2]:
        return f"「{a[0]}」（{a[1]}）と「{b[0]}」（{b[1]}）は同じです。"
    word = next(g for g in m.groups() if g) + "い"  # the stem as asked: 多 -> 多い, 少な -> 少ない
    return f"「{win[0]}」（{win[1]}）の方が{word}です（「{lose[0]}」は{lose[1]}）。"


def _figure(d: Draft) -> tuple[str, str, float, str] | None:
    """(name, as printed, value, unit) of the one figure an answer gives: a report box's latest actual, or the one
    count its report bullet prints."""
    boxes = [x for x in d.kpis if x.get("type") == "progress_kpi" and x.get("latest")]
    if len(boxes) == 1:
        latest = boxes[0]["latest"]
        return (
            boxes[0]["name"],
            latest["raw"],
            latest["value"],
            latest.get("unit") or boxes[0].get("unit") or "",
        )
    if d.kpis or len(d.evidence) != 1:
        return None
    found = _COUNTED.findall(nfkc(d.evidence[0].quote))
    if len(found) != 1:
        return None
    name, raw, unit = found[0]
    return name, f"{raw}{unit}", float(raw.replace(",", "")), unit
