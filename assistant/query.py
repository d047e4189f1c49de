"""Understand: a question (+ history) becomes a typed, frozen `Query` before anything is answered.

A question is split into the parts it asks (「…の担当は？それとR5の削減時間も」 is two), each `Part` with the
attributes it asks (`Intent`, from the vocabulary file), its fiscal years, the measures it names, the records it
links to (entity linking over the catalog, assistant/linker.py) and the departments it claims (yes/no checks).
A part with no subject of its own takes the subject of the conversation: the records the previous turns named
(the user's question and the answer's quoted records); a refusal carries no subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from assistant.coordinate import coordinated, two_asks
from assistant.intent import (
    CONTENT_RE,
    Attr,
    Intent,
    detect,
    expand_aliases,
    topic_of,
    with_japanese_terms,
)
from assistant.join import report_bullet_for
from assistant.knowledge import Knowledge
from assistant.linker import Linker
from assistant.retrieve import measure_ids_in
from assistant.schemas import Turn
from assistant.split import contrasted, split_parts
from assistant.subjects import (
    LINK_NAME,
    RELATED_PREFIX,
    about,
    as_kind,
    conversation_subject,
    kinds_for,
    names_other,
    own_pins,
)
from ingest.normalize import nfkc
from ingest.tokenize import content_tokens

__all__ = [
    "Part",
    "Query",
    "understand",
    "split_parts",
    "subject_from",
    "answered_about",
    "claim_free",
    "asks_report",
    "reported",
    "LINK_NAME",
    "RELATED_PREFIX",
]


@dataclass(frozen=True)
class Part:
    """One asked part of a question, understood."""

    text: str
    intent: Intent
    ids: tuple[str, ...] = ()  # measure numbers named or carried from the conversation
    pins: tuple[str, ...] = ()  # record refs of the records named (linked) or carried
    context: str = ""  # words of the earlier turn that add topic to retrieval
    carried: bool = False  # the subject comes from the conversation, not from this part
    claims: tuple[str, ...] = ()  # departments the question asserts (yes/no checks)
    named: float = 0.0  # how fully the part names some record other than the report totals (0..1)


@dataclass(frozen=True)
class Query:
    text: str
    parts: tuple[Part, ...] = field(default_factory=tuple)
    english: bool = False
    follow_up: bool = False  # asked after earlier turns


def _latin_share(q: str) -> float:
    letters = [ch for ch in q if ch.isalpha()]
    return sum(ch.isascii() for ch in letters) / len(letters) if letters else 0.0


def answered_about(measures: list[dict], part: Part, k: Knowledge, linker: Linker) -> Part:
    """A later part with no subject of its own, when the part before it was answered about a measure it did not
    name whole (「○○クラウド、…いつから？で、2023年度は？」): that measure, or its report record when
    the part asks the report."""
    mids = tuple(m["measure_id"] for m in measures[:1] if m.get("measure_id"))
    if not mids:
        return part
    pins = _in_report(replace(part, ids=mids), part.text, k, linker) if asks_report(part.intent, k) else ()
    return replace(part, ids=mids, pins=pins)


def claim_free(part: Part, k: Knowledge) -> str:
    """The part's text without the departments it claims (and their bureaus): 「…の所管は○○部○○課ですよね？」
    is about the measure, and the claimed department must not pull that department's measures into the search."""
    if not part.claims:
        return part.text
    text = part.text
    for name in sorted({*part.claims, *k.mentioned(text, k.bureaus)}, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def subject_from(kpis: list[dict], part: Part, k: Knowledge, linker: Linker) -> tuple[str, ...]:
    """The records a carried part asks about when the part before it named none but was answered from a KPI
    (「基準値66.5%は計画では何年度？報告書の方では？」): that KPI, or its report box when the part asks the report."""
    refs = [x["kpi_id"] for x in kpis if x.get("kpi_id")]
    if not refs or not asks_report(part.intent, k):
        return tuple(refs[:1])
    for ref in refs:
        if ref in k.progress_by_id:
            return (ref,)
        boxes = k.progress_by_plan.get(ref)
        if boxes:
            return (boxes[0].kpi_id,)
        plan = k.kpi_by_id.get(ref)
        links = linker.link(plan.item, kinds=("progress_kpi",), top=1) if plan else []
        if links and links[0].name >= LINK_NAME:
            return (links[0].entity.ref,)
    return tuple(refs[:1])


def asks_report(intent: Intent, k: Knowledge) -> bool:
    """Does a part ask what the progress report says (its scope word, or the report's own fiscal year)?"""
    reported = {d.fiscal_year for d in k.catalog.documents if d.kind == "progress" and d.fiscal_year}
    plan_only = intent.has("target", "baseline") and not intent.has(
        "actual", "met"
    )  # 「R5の目標は？」: the plan's
    return intent.has("report") or (bool(set(intent.years) & reported) and not plan_only)


def reported(part: Part, k: Knowledge, linker: Linker) -> Part:
    """「企29はR5にどう運用された？」 asks what the report says of the measure it names: its report record."""
    if (
        (part.ids or part.pins)
        and part.intent.asks <= {Attr.WHAT, Attr.REPORT}
        and asks_report(part.intent, k)
    ):
        return replace(part, pins=_in_report(part, part.text, k, linker))
    return part


def _in_report(first: Part, text: str, k: Knowledge, linker: Linker) -> tuple[str, ...]:
    """The report's record for the first part's measure, among its report boxes and the bullet or box that names
    the measure's name: the one that covers most of the part's own words (「R5でどのくらい作業時間が減った」 is
    the box of the time saved, not the bullet that names the system)."""
    mids = set(first.ids) | {
        m for ref in first.pins for x in linker.by_ref(ref) for m in x.entity.measure_ids
    }
    cands = [p.kpi_id for m in sorted(mids) for p in k.progress_by_measure.get(m, [])]
    names = [m.name for mid in first.ids if (m := k.primary(mid)) and m.name]
    names += [x.entity.name for ref in first.pins for x in linker.by_ref(ref) if x.entity.kind == "measure"]
    cands += [ref for name in names if (ref := report_bullet_for(name, linker, k, LINK_NAME))]
    if not cands:
        return first.pins
    cover = {ref: max((x.cover for x in linker.by_name(text, ref)), default=0.0) for ref in cands}
    return (max(dict.fromkeys(cands), key=lambda r: cover[r]),)


def _elliptic(intent: Intent, text: str = "", vocabulary: frozenset[str] | set[str] = frozenset()) -> bool:
    """A part that asks no attribute of its own (「前の年は？」「R2は？」) repeats the previous question's; one with a
    topic of its own (「議事録作成で削減された時間も」) does not."""
    own = intent.asks - {"previous_year", "what", "figure", "actual"}
    if own or len(intent.asks) > 2 or CONTENT_RE.search(text):  # 「概要を教えて」 asks the record's content
        return False
    # (a word the documents never use makes no topic: 「あいうえお…」 repeats the question too)
    return not [
        t
        for t in content_tokens(topic_of(text))
        if len(t) > 1 and not re.search(r"\d", t) and t in vocabulary
    ]


def understand(question: str, history: list[Turn], k: Knowledge, linker: Linker) -> Query:
    q = expand_aliases(nfkc(question).strip())
    # English when written in English words: 「KPIは？」 is Japanese around one Latin name
    english = _latin_share(q) > 0.5 and len(re.findall(r"[A-Za-z]{2,}", q)) >= 2
    parts: list[Part] = []
    known = set(k.listings)
    pieces = [
        c
        for p in split_parts(with_japanese_terms(q) if english else q, frozenset(linker.generic))
        for x in contrasted(p)
        for c in coordinated(x, linker, known)
    ]
    pieces = [c for p, side in pieces for c in (two_asks(p, linker, known) if side is None else [(p, side)])]
    for text, side in pieces:
        intent = detect(text)
        ids = tuple(measure_ids_in(text, known))
        claims = tuple(k.department_hits(text)) if intent.has("claim") else ()
        pins = (side,) if side and not ids else own_pins(text, linker, intent, k)
        named = max((x.name for x in linker.link(text, top=3) if x.entity.kind != "totals"), default=0.0)
        if len(ids) > 1 and not side and not intent.has("list", "which_measure"):
            # 「企22・企23の現状値は？」: the same asked of each measure it numbers
            parts += [Part(text, intent, (mid,), (), claims=claims, named=named) for mid in ids]
            continue
        parts.append(reported(Part(text, intent, ids, pins, claims=claims, named=named), k, linker))
    # a later part without a subject of its own asks about the first part's subject
    first = parts[0]
    for i, p in enumerate(parts[1:], 1):
        if not p.ids and not p.pins and not any(names_other(p.text, ref, k, linker) for ref in first.pins):
            intent = p.intent
            # 「…の現状値は？R2は？」: the same attribute, another year
            if _elliptic(intent, p.text, k.vocabulary):
                intent = replace(intent, asks=intent.asks | first.intent.asks)
            pins = _in_report(first, p.text, k, linker) if asks_report(intent, k) else first.pins
            parts[i] = replace(p, intent=intent, ids=first.ids, pins=pins, context=first.text, carried=True)
    if history and not first.ids and not first.pins:
        carried_ids, carried_pins, last_user = conversation_subject(history, k, linker)
        short = (
            len(re.sub(r"[\W\d_]", "", q)) <= 14
            or first.intent.anaphoric
            or any(about(q, ref, k, linker) for ref in carried_pins)
        )
        if short and (carried_ids or carried_pins or last_user):
            intent = first.intent
            if _elliptic(intent, q, k.vocabulary) and last_user:
                prev = detect(last_user)
                shifted = tuple(y - 1 for y in prev.years) if intent.has("previous_year") else ()
                intent = replace(
                    prev, asks=prev.asks | intent.asks, years=intent.years or shifted or prev.years
                )
            pins = tuple(
                as_kind(ref, kinds_for(intent), linker, k)
                for ref in carried_pins
                if first.intent.anaphoric or not names_other(q, ref, k, linker)
            )
            # 「R5年度にどこまで進んだ？」: the measure's report record
            if carried_ids and asks_report(intent, k):
                pins = _in_report(replace(first, ids=tuple(carried_ids), pins=pins), q, k, linker)
            first = replace(first, intent=intent, ids=tuple(carried_ids), pins=pins, context=last_user)
            parts[0] = replace(first, carried=True)
    return Query(q, tuple(parts), english, bool(history))
