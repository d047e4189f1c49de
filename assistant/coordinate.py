"""Two things asked in one question: 「Xの削減時間と、Yを担当してる部署を教えて」 (two asks, each of its own record)
and 「AとB、受講者は何人ずつ？」 (the same asked of two records), each side linked to the record it names.
`assistant/query.py` makes each piece a `Part`."""

from __future__ import annotations

import re

from assistant.intent import Attr, Intent, detect, topic_of, without_years
from assistant.linker import Linker
from assistant.retrieve import measure_ids_in
from assistant.subjects import LINK_NAME, kinds_for, own_pins
from ingest.tokenize import content_tokens

__all__ = ["two_asks", "coordinated", "SIDE_COVER"]

# 「それぞれ」「何人ずつ」「どっちも」: the same is asked of each of two records
_EACH = re.compile(
    r"それぞれ|ずつ|各々|両方|どっちも|どちらも|ともに|どちらが|どっちが|どちらの方|どっちの方|(?:の|ほう|方)(?:は|って)(?:どちら|どっち)"
    r"|\b(?:each|both|respectively|which of|which (?:\w+ )?(?:saved|has|had|got|reached) (?:more|fewer|less))\b",
    re.I,
)  # 「AとB、どちらが…？」 compares: it asks the same of each
SIDE_COVER = 0.6  # a side of 「AとB、それぞれ」 names the record holding this share of its words


def two_asks(text: str, linker: Linker, known: set[str]) -> list[tuple[str, str | None]]:
    """「Xの削減時間と、Yを担当してる部署を教えて」 asks two things, each of its own record: a record named
    before 「と、」 and an attribute asked after it are two parts."""
    m = re.match(r"^(.{3,}?)と[、,](.{3,})$", text)
    if not m:
        return [(text, None)]
    left, right = m.groups()
    asked, own = detect(right).asks - {Attr.WHAT}, detect(left)
    named = measure_ids_in(left, known) or own_pins(left, linker, own)
    if asked and named and not own.asks & asked:
        return [(left, None), (right, None)]
    # 「Aの在宅勤務の実績と、BのWeb会議の利用実績は？」: each side asks of a topic of its own, one some record
    # shares words with (not 「…のKPIと、R5報告の数字を並べて」, whose second side names nothing)
    sides = [without_years(x) for x in (left, right)]
    topics = [set(content_tokens(topic_of(x))) - linker.generic for x in sides]
    if asked and own.asks - {Attr.WHAT} and all(topics) and not topics[0] & topics[1]:
        if all(linker.link(x, top=1) for x in sides):
            return [(left, None), (right, None)]
    return [(text, None)]


def coordinated(text: str, linker: Linker, known: set[str]) -> list[tuple[str, str | None]]:
    """「AとB、受講者は何人ずつ？」 asks the same of two records: one part each. A side names its record by number,
    by most of its name, or, when the question asks of each (「それぞれ」), by words all in one record
    (「生成AIと、公用車の予約の件」); one record named by both sides together (「県と市町村の共同…」) is one thing.
    Each part comes with the record its side names."""
    m = re.match(r"^(.{2,}?)(?:と|及び|および|\band\b)(.{2,}?)[、,](.+)$", text)
    # 「AとBの受講者数をそれぞれ」: without a comma, the tail after 「の」 must ask of each
    # 「Aの実績と、Bの利用実績ってそれぞれどれくらい？」: two whole names, the tail after the second asks of each
    m = m or re.match(r"^(.{2,}?)と[、,]\s*(.{2,}?)(?:って|は|を)((?:それぞれ|ずつ|各々).*)$", text)
    m = m or re.match(r"^(.{2,}?)(?:と|及び|および)(.{2,}?)の((?=.*(?:それぞれ|ずつ|各々)).+)$", text)
    # 「R5の削減時間、AとBではどっちが大きい？」: what is compared comes first, the two records after it
    lead = None if m else re.match(r"^(.{2,}?)[、,]\s*(.{2,}?)(?:と|及び|および)(.{2,}?)(?:では|で|は|って)\s*((?:どちら|どっち|それぞれ|各々).*)$", text)  # fmt: skip
    if lead:
        left, right, tail = lead.group(2), lead.group(3), f"{lead.group(1)}、{lead.group(4)}"
    elif m:
        left, right, tail = m.groups()
    else:
        return [(text, None)]
    each = bool(_EACH.search(tail))
    intent = detect(text)
    sides = ((without_years(left), without_years(right)), (without_years(right), without_years(left)))
    refs = [_side_ref(a, linker, known, each, intent, tail, b) for a, b in sides]
    if not (all(refs) and refs[0] != refs[1]):
        return [(text, None)]
    if not any(measure_ids_in(side, known) for side in (left, right)) and _named_across(left, right, linker):
        return [(text, None)]
    return [(f"{left}、{tail}", refs[0]), (f"{right}、{tail}", refs[1])]


def _name_share(text: str, ref: str, linker: Linker) -> float:
    return max((x.name for x in linker.by_name(text, ref)), default=0.0)


def _named_across(left: str, right: str, linker: Linker) -> bool:
    """Do the two sides together name one record that neither names alone (「県と市町村の共同電子申請」)?"""
    for x in linker.link(f"{left}と{right}", top=3):
        if x.name >= LINK_NAME and all(
            y.name < LINK_NAME for side in (left, right) for y in linker.by_name(side, x.entity.ref)
        ):
            return True
    return False


def _side_ref(side: str, linker: Linker, known: set[str], each: bool, intent: Intent, tail="", other="") -> str | None:  # fmt: skip
    ids = measure_ids_in(side, known)
    if ids:
        return ids[0]
    # 「ノーコードツールと議事録…、R5の削減時間は？」: the box the side and the tail name together (not the tool's
    # bullet), when the two name it or the side's words are in it, and this side names more of it than the other
    plan_asked = intent.has("target", "baseline") or not intent.has(
        "actual"
    )  # an actual alone is the report's
    joint = (
        linker.link(f"{side} {tail}", ("progress_kpi", "kpi") if plan_asked else ("progress_kpi",), 1)
        if tail and intent.has("figure", "actual", "target", "baseline")
        else []
    )
    own = linker.by_name(side, joint[0].entity.ref) if joint else []
    if joint and (joint[0].name >= LINK_NAME or any(x.cover >= SIDE_COVER for x in own)):
        if max((x.name for x in own), default=0.0) > _name_share(other, joint[0].entity.ref, linker):
            return joint[0].entity.ref
    pins = own_pins(side, linker, intent)
    if pins:
        return pins[0]
    # asked of each, a side's words all in one record name it; of such records, the kind listed first for what is
    # asked holds it (an actual: the report's record before the plan's KPI row)
    kinds = kinds_for(intent)
    links = [x for x in linker.link(side, kinds=kinds, top=5) if x.cover >= SIDE_COVER] if each else []
    best = min(links, key=lambda x: kinds.index(x.entity.kind), default=None)
    return best.entity.ref if best else None
