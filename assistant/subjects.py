"""What a part is about: the records it names itself, and those a conversation carries into it.

A part names a record when the linker finds most of the record's name in it (`LINK_NAME`), among the kinds of
record that can hold what it asks (an owner is a measure's). A follow-up without a subject takes the records the
previous answer quoted (`CARRY_NAME`), or the user's earlier question's; a refusal carries none, and a follow-up
naming a subject of its own takes the conversation as context only. A carried record of a kind that cannot hold
the asked attribute is joined to one that can (a bullet -> the measure it clearly names, or the plan KPI whose
actual it carries: `assistant/join.py`).
"""

from __future__ import annotations

from dataclasses import replace

from assistant.draft import Draft
from assistant.intent import Intent, topic_of
from assistant.join import initiative_for
from assistant.knowledge import Knowledge, squash
from assistant.linker import Link, Linker
from assistant.retrieve import measure_ids_in
from assistant.schemas import Turn
from ingest.chunk import initiative_ref
from ingest.normalize import nfkc
from ingest.tokenize import content_tokens, predicates

__all__ = [
    "cite_bullets",
    "kinds_for",
    "own_pins",
    "longest",
    "subject_of",
    "conversation_subject",
    "names_other",
    "about",
    "as_kind",
    "LINK_NAME",
    "JOIN_NAME",
    "CARRY_NAME",
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
COMMON_WORD = 0.25  # a word in this share of the corpus's chunks names no subject of its own
OTHER_MARGIN = 0.25  # a follow-up's words covered this much better by another record name that record
CARRY_NAME = 0.9  # a record quoted in an earlier answer (its name nearly whole) is the conversation's subject
_ABSTAIN_MARKS = (
    "記載されていません",
    "見当たりません",
    "お答えできません",
    "読み取れません",
    "ありません。",
)


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
_PLAN_ONLY = ("target", "baseline", "baseline_date")  # figures a report bullet never holds
_ANY = (
    "measure",
    "kpi",
    "progress_kpi",
    "initiative",
    "totals",
)  # a glossary term only when a meaning is asked


def kinds_for(intent: Intent) -> tuple[str, ...]:
    kinds = [k for a in intent.asks for k in _KINDS.get(a, ())]
    if intent.has("glossary_maybe"):
        kinds += ["glossary", *_ANY]
    return tuple(dict.fromkeys(kinds)) or _ANY


def own_pins(
    text: str, linker: Linker, intent: Intent | None = None, k: Knowledge | None = None
) -> tuple[str, ...]:
    """The record `text` names, of a kind that holds what `intent` asks. With `k`, a report bullet named where a
    plan figure is asked (「…研修、計画の目標人数とR5に受けた人数」) stands for the plan KPI whose actual it carries
    (`as_kind`): the KPI's answer quotes the bullet beside the plan's figures."""
    kinds = kinds_for(intent) if intent else None
    # the record kind listed first for an attribute wins when it is named (a measure's 事業開始 over a bullet)
    for group in (
        [kinds[:1], kinds[1:]] if kinds and intent and intent.has("start_year", "owner") else [kinds]
    ):
        if group is not None and not group:
            continue  # the attribute's only kind was tried: no other kind may stand in for it
        top = subject_of(linker.link(text, kinds=group or None, top=5))
        if top:
            ref = top.entity.ref
            if k is not None and intent is not None and intent.has(*_PLAN_ONLY):
                ref = as_kind(ref, ("kpi", "progress_kpi"), linker, k)
            return (ref,)
    return ()


def subject_of(links: list[Link]) -> Link | None:
    """The record a text names among its links (strongest first): the `longest` named one, unless a record not
    named whole covers the text's words far better (by `OTHER_MARGIN` of them): a short generic name (a bullet
    「…の推進」) is named whole in passing by a question whose other words (「データセット」) are the KPI's."""
    named = [x for x in links if x.name >= LINK_NAME]
    if not named:
        return None
    top = longest(named)
    rival = [x for x in links if x.name < LINK_NAME and x.cover >= top.cover + OTHER_MARGIN]
    return rival[0] if rival else top


def longest(named: list[Link]) -> Link:
    """The strongest named record, unless another named one's name holds its name whole and covers more of the
    question (「…セルフチェックの理解度の平均」 names the KPI, not the bullet 「…セルフチェック」): the longest
    mention wins."""
    top = named[0]
    inner = squash(top.entity.name)
    longer = [
        x
        for x in named[1:]
        if inner in squash(x.entity.name) and x.entity.name != top.entity.name and x.cover > top.cover
    ]
    return max(longer, key=lambda x: x.cover) if longer else top


def names_other(q: str, ref: str, k: Knowledge, linker: Linker) -> bool:
    """Does a follow-up name a subject of its own that the carried record does not hold (「セミナーの方は何人？」
    after an answer about a subsidy)? Then the conversation gives it context, not its subject."""
    own = _own_words(q, k, linker)
    text = _subject_text(ref, k, linker)
    if not own or not text:
        return False
    if not any(t in text for t in own):
        return True
    # its words are another record's more than the carried one's (「同じく中小企業向けのセミナーは？」 after a subsidy)
    family = _family(ref, k, linker)
    carried = max((x.cover for r in family for x in linker.by_name(q, r)), default=0.0)
    best = linker.link(q, top=1)
    return bool(best) and best[0].entity.ref not in family and best[0].cover >= carried + OTHER_MARGIN


def _family(ref: str, k: Knowledge, linker: Linker) -> set[str]:
    """A carried record and, for a measure, its KPIs and report boxes: one subject."""
    record = linker.by_ref(ref)
    if not record or record[0].entity.kind != "measure":
        return {ref}
    mids = record[0].entity.measure_ids
    return (
        {ref}
        | {x.kpi_id for m in mids for x in k.kpis_by_measure.get(m, [])}
        | {x.kpi_id for m in mids for x in k.progress_by_measure.get(m, [])}
    )


def about(q: str, ref: str, k: Knowledge, linker: Linker) -> bool:
    """Is a follow-up about the carried record: every topic word of its own is the record's or its KPIs'
    (「導入している市町村の数は？」 after a measure whose KPI counts them)? One with no words of its own only
    asks (「最後の年の目標値は？」); a word the documents never use still names something else."""
    own = _own_words(q, k, linker, known=False)
    text = _subject_text(ref, k, linker)
    return bool(text) and all(t in text for t in own)


def _own_words(q: str, k: Knowledge, linker: Linker, known: bool = True) -> list[str]:
    """A follow-up's topic words that could name a subject: (with `known`) used by the corpus, and not so common
    in it that they name nothing (こと, 事業), and not verbs or adjectives: 「実際どれくらい受けたの？」 asks of
    the carried 研修, it names no subject of its own."""
    topic = topic_of(q)
    asking = predicates(topic)
    return [
        t
        for t in content_tokens(topic)
        if t not in linker.generic
        and t not in asking
        and len(t) > 1
        and (t in k.vocabulary or not known)
        and not k.is_common(t, COMMON_WORD)
    ]


def _subject_text(ref: str, k: Knowledge, linker: Linker) -> str:
    """The carried record's words: its text, and for a measure the names of its KPIs and report boxes."""
    record = linker.by_ref(ref)
    if not record:
        return ""
    names = [x.entity.name for r in sorted(_family(ref, k, linker) - {ref}) for x in linker.by_ref(r)[:1]]
    return nfkc(" ".join([record[0].entity.text, *names])).lower()


def as_kind(ref: str, kinds: tuple[str, ...], linker: Linker, k: Knowledge) -> str:
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


def cite_bullets(d: Draft, linker: Linker, k: Knowledge) -> Draft:
    """A report bullet cited without a measure is cited with the measure it clearly reports on (`as_kind`)."""
    for i, e in enumerate(d.evidence):
        ref = initiative_ref(e.line_start)
        if e.measure_id is None and linker.by_ref(ref):
            named = linker.by_ref(as_kind(ref, ("measure",), linker, k))
            if named and named[0].entity.kind == "measure":
                d.evidence[i] = replace(e, measure_id=named[0].entity.measure_ids[0])
    return d


def _is_refusal(answer: str) -> bool:
    head = answer.split("\n", 1)[0]
    return any(m in head for m in _ABSTAIN_MARKS) and "。" in head and len(head) < 160


def conversation_subject(
    history: list[Turn], k: Knowledge, linker: Linker
) -> tuple[list[str], list[str], str]:
    """(measure ids, record refs, the last user question) the conversation is about; a refusal names none."""
    last_user = next((t.content for t in reversed(history) if t.role == "user"), "")
    for turn in reversed(history[-6:]):
        text = "\n".join(x for x in turn.content.splitlines() if not x.startswith(RELATED_PREFIX))
        if turn.role == "assistant" and _is_refusal(text):
            return [], [], nfkc(last_user)
        ids = measure_ids_in(text, set(k.listings))
        if turn.role == "assistant" and len(ids) > 1 and _listed(text):
            continue  # a list names many measures: the question before it says which one is meant
        quoted = [x for x in _quoted(text) if len(x) >= 3] if turn.role == "assistant" else [text]
        pins = [ref for q in quoted if (ref := _quoted_record(q, linker))]
        if turn.role == "assistant" and not pins and not ids:  # an answer that quotes no record names one
            pins = [x.entity.ref for x in linker.link(text.split("\n")[0], top=1) if x.name >= CARRY_NAME]
        if turn.role == "user":
            pins = list(own_pins(text, linker))
        if ids or pins:
            return ids[:1], list(dict.fromkeys(pins))[:1], nfkc(last_user)
        if turn.role == "user":
            break  # the previous question named nothing: use its words, not an older turn's subject
    return [], [], nfkc(last_user)


def _listed(text: str) -> bool:
    """Is an answer a list of measures (its lines start with 「・」 and a measure number)?"""
    return sum(1 for x in text.splitlines() if x.startswith("・")) >= 2


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
