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

from assistant.intent import Intent, detect, topic_of
from assistant.join import initiative_for
from assistant.knowledge import Knowledge
from assistant.linker import Linker
from assistant.retrieve import measure_ids_in
from assistant.schemas import Turn
from ingest.normalize import nfkc
from ingest.tokenize import content_tokens

__all__ = [
    "Part",
    "Query",
    "understand",
    "split_parts",
    "subject_from",
    "asks_report",
    "LINK_NAME",
    "RELATED_PREFIX",
]

RELATED_PREFIX = "関連する施策: "
JOIN_NAME = (
    0.6  # a record of another kind named by a carried record (a bullet -> its measure), when clearly ahead:
)
CLEAR_LEAD = 1.5  # its name score this many times the next record's
NAME_CHARS = (
    60  # a quote this long or shorter is a name; a longer one a quoted record (a bullet with its goal)
)
LINK_NAME = 0.75  # a record counts as named when this share of its name's weighted bigrams is in the question
CARRY_NAME = 0.9  # a record quoted in an earlier answer (its name nearly whole) is the conversation's subject
_SPLIT = re.compile(
    r"(?<=[？?])\s*(?=\S)|(?:。|、)?\s*(?:それと|それから|あと(?=[、,]?\S*[はのを])|また、|and also\b)"
)
_ABSTAIN_MARKS = (
    "記載されていません",
    "見当たりません",
    "お答えできません",
    "読み取れません",
    "ありません。",
)


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


def split_parts(question: str) -> list[str]:
    """The asked parts: a second question mark or a 「それと／あと」 starts a new part (short tails stay)."""
    pieces = [p.strip(" 、,") for p in _SPLIT.split(question) if p and p.strip(" 、,")]
    out: list[str] = []
    for p in pieces:
        if out and len(re.sub(r"[\W_]", "", p)) < 3:
            out[-1] += p
        else:
            out.append(p)
    return out or [question]


def _latin_share(q: str) -> float:
    letters = [ch for ch in q if ch.isalpha()]
    return sum(ch.isascii() for ch in letters) / len(letters) if letters else 0.0


# The kinds of record that can hold an attribute: a link to another kind is not the subject asked about.
_KINDS = {
    "owner": ("measure",),
    "start_year": ("measure", "initiative"),
    "claim": ("measure",),
    "target": ("kpi", "progress_kpi"),
    "baseline": ("kpi", "progress_kpi"),
    "baseline_date": ("kpi", "progress_kpi"),
    "kpi": ("kpi", "progress_kpi", "measure"),
    "which_measure": ("kpi", "progress_kpi"),
    "met": ("kpi", "progress_kpi"),
    "change": ("kpi", "progress_kpi"),
    "actual": ("progress_kpi", "initiative", "totals", "kpi"),
    "budget": ("totals", "measure"),
    "glossary": ("glossary",),
}


_ANY = (
    "measure",
    "kpi",
    "progress_kpi",
    "initiative",
    "totals",
)  # a glossary term only when a meaning is asked


def _kinds(intent: Intent) -> tuple[str, ...]:
    kinds = [k for a in intent.asks for k in _KINDS.get(a, ())]
    if intent.has("glossary_maybe"):
        kinds += ["glossary", *_ANY]
    return tuple(dict.fromkeys(kinds)) or _ANY


def _own_pins(text: str, linker: Linker, intent: Intent | None = None) -> tuple[str, ...]:
    kinds = _kinds(intent) if intent else None
    # the record kind listed first for an attribute wins when it is named (a measure's 事業開始 over a bullet)
    for group in (
        [kinds[:1], kinds[1:]] if kinds and intent and intent.has("start_year", "owner") else [kinds]
    ):
        if group is not None and not group:
            continue  # the attribute's only kind was tried: no other kind may stand in for it
        links = linker.link(text, kinds=group or None, top=1)
        pins = tuple(x.entity.ref for x in links if x.name >= LINK_NAME)
        if pins:
            return pins
    return ()


def _names_other(q: str, ref: str, k: Knowledge, linker: Linker) -> bool:
    """Does a follow-up name a subject of its own that the carried record does not hold (「セミナーの方は何人？」
    after an answer about a subsidy)? Then the conversation gives it context, not its subject."""
    own = [
        t for t in content_tokens(topic_of(q)) if t not in linker.generic and t in k.vocabulary and len(t) > 1
    ]
    record = linker.by_ref(ref)
    if not own or not record:
        return False
    text = nfkc(record[0].entity.text).lower()
    return not any(t in text for t in own)


def _as_kind(ref: str, kinds: tuple[str, ...], linker: Linker, k: Knowledge) -> str:
    """The record of `kinds` that the record `ref` names, when `ref` is of a kind that cannot hold the asked
    attribute (a report bullet carried into 「担当は？」 -> the measure it reports on); `ref` itself otherwise.
    The measure must be a clear match: its name mostly in the bullet and well ahead of the next one."""
    own = linker.by_ref(ref)
    if not own or own[0].entity.kind in kinds:
        return ref
    if own[0].entity.kind == "initiative" and "kpi" in kinds:  # the plan KPI whose actual this bullet carries
        kpi = next((x for x in k.catalog.kpis if initiative_for(x, linker, k) == ref), None)
        return kpi.kpi_id if kpi else ref
    if "measure" not in kinds:
        return ref  # a measure reaches its KPIs and boxes through its number; only the way back needs a link
    links = linker.link(own[0].entity.name, kinds=kinds, top=2)
    if (
        links
        and links[0].name >= JOIN_NAME
        and (len(links) < 2 or links[0].name >= CLEAR_LEAD * links[1].name)
    ):
        return links[0].entity.ref
    return ref


def _is_refusal(answer: str) -> bool:
    head = answer.split("\n", 1)[0]
    return any(m in head for m in _ABSTAIN_MARKS) and "。" in head and len(head) < 160


def _conversation_subject(
    history: list[Turn], k: Knowledge, linker: Linker
) -> tuple[list[str], list[str], str]:
    """(measure ids, record refs, the last user question) the conversation is about; a refusal names none."""
    last_user = next((t.content for t in reversed(history) if t.role == "user"), "")
    for turn in reversed(history[-6:]):
        text = "\n".join(x for x in turn.content.splitlines() if not x.startswith(RELATED_PREFIX))
        if turn.role == "assistant" and _is_refusal(text):
            return [], [], nfkc(last_user)
        ids = measure_ids_in(text, set(k.listings))
        quoted = [x for x in _quoted(text) if len(x) >= 3] if turn.role == "assistant" else [text]
        pins = [ref for q in quoted if (ref := _quoted_record(q, linker))]
        if turn.role == "user":
            pins = list(_own_pins(text, linker))
        if ids or pins:
            return ids[:1], list(dict.fromkeys(pins))[:1], nfkc(last_user)
        if turn.role == "user":
            break  # the previous question named nothing: use its words, not an older turn's subject
    return [], [], nfkc(last_user)


def _quoted_record(quote: str, linker: Linker) -> str | None:
    """The record a quote of an answer is: a short quote is a record's name; a long one quotes a record, which
    is the record with the longest name the quote holds whole (a passage merely mentioning 「AI」 names no record)."""
    links = [x for x in linker.link(quote, top=5) if x.name >= CARRY_NAME]
    if len(quote) <= NAME_CHARS:
        return links[0].entity.ref if links else None
    named = [x for x in links if len(x.entity.name) > NAME_CHARS // 6]
    return max(named, key=lambda x: len(x.entity.name)).entity.ref if named else None


def _quoted(text: str) -> list[str]:
    """The outermost 「…」 spans of `text`, nested quotes kept (「デジタル化が「ある程度進んでいる」以上の企業の割合」)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "「":
            depth += 1
            if depth == 1:
                start = i + 1
        elif ch == "」" and depth:
            depth -= 1
            if depth == 0:
                out.append(text[start:i])
    return out


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
    return intent.has("report") or bool(set(intent.years) & reported)


def _in_report(first: Part, k: Knowledge, linker: Linker) -> tuple[str, ...]:
    """The report's record for the first part's measure: the bullet or box that names the measure's name."""
    names = [m.name for mid in first.ids if (m := k.primary(mid)) and m.name]
    names += [x.entity.name for ref in first.pins for x in linker.by_ref(ref) if x.entity.kind == "measure"]
    for name in names:
        links = linker.link(name, kinds=("initiative", "progress_kpi"), top=1)
        if links and links[0].name >= LINK_NAME:
            return (links[0].entity.ref,)
    return first.pins


def _elliptic(intent: Intent) -> bool:
    """A part that asks no attribute of its own (「前の年は？」「R2は？」) repeats the previous question's."""
    return not (intent.asks - {"previous_year", "what", "figure", "actual"}) and len(intent.asks) <= 2


def _coordinated(text: str, linker: Linker) -> list[str]:
    """「AとB、受講者は何人ずつ？」 asks the same of two named records: one part each (when both sides link)."""
    m = re.match(r"^(.{3,}?)(?:と|及び|および|\band\b)(.{3,}?)[、,](.+)$", text)
    if not m:
        return [text]
    left, right, tail = m.groups()
    refs = [_own_pins(side, linker) for side in (left, right)]
    if all(refs) and refs[0] != refs[1]:
        return [f"{left}、{tail}", f"{right}、{tail}"]
    return [text]


def understand(question: str, history: list[Turn], k: Knowledge, linker: Linker) -> Query:
    q = nfkc(question).strip()
    # English when written in English words: 「KPIは？」 is Japanese around one Latin name
    english = _latin_share(q) > 0.5 and len(re.findall(r"[A-Za-z]{2,}", q)) >= 2
    parts: list[Part] = []
    for text in [c for p in split_parts(q) for c in _coordinated(p, linker)]:
        intent = detect(text)
        ids = tuple(measure_ids_in(text, set(k.listings)))
        claims = tuple(k.department_hits(text)) if intent.has("claim") else ()
        pins = _own_pins(text, linker, intent)
        named = max((x.name for x in linker.link(text, top=3) if x.entity.kind != "totals"), default=0.0)
        parts.append(Part(text, intent, ids, pins, claims=claims, named=named))
    # a later part without a subject of its own asks about the first part's subject
    first = parts[0]
    for i, p in enumerate(parts[1:], 1):
        if not p.ids and not p.pins:
            intent = p.intent
            if _elliptic(intent):  # 「…の現状値は？R2は？」: the same attribute, another year
                intent = replace(intent, asks=intent.asks | first.intent.asks)
            pins = _in_report(first, k, linker) if asks_report(intent, k) else first.pins
            parts[i] = replace(p, intent=intent, ids=first.ids, pins=pins, context=first.text, carried=True)
    if history and not first.ids and not first.pins:
        carried_ids, carried_pins, last_user = _conversation_subject(history, k, linker)
        short = len(re.sub(r"[\W\d_]", "", q)) <= 14 or first.intent.anaphoric
        if short and (carried_ids or carried_pins or last_user):
            intent = first.intent
            if _elliptic(intent) and last_user:
                prev = detect(last_user)
                shifted = tuple(y - 1 for y in prev.years) if intent.has("previous_year") else ()
                intent = replace(
                    prev, asks=prev.asks | intent.asks, years=intent.years or shifted or prev.years
                )
            pins = tuple(
                _as_kind(ref, _kinds(intent), linker, k)
                for ref in carried_pins
                if first.intent.anaphoric or not _names_other(q, ref, k, linker)
            )
            parts[0] = replace(
                first,
                intent=intent,
                ids=tuple(carried_ids),
                pins=pins,
                context=last_user,
                carried=True,
            )
    return Query(q, tuple(parts), english)
