"""Compose grounded Japanese answers from records first, passages second: owners and start years, a measure's
content, lists, outlines of headings, glossary terms, the report's totals and as-of date, quoted passages.
"""

from __future__ import annotations

import re

from assistant.answer_types import asked_type, holds_type
from assistant.draft import Draft, Evidence, fy_phrase, measure_dict, measure_evidence, measure_name
from assistant.intent import Intent
from assistant.knowledge import Knowledge
from assistant.shortnames import used_in
from assistant.verify import listed_count
from ingest.normalize import era_label, era_of, fiscal_year
from ingest.records import Chunk, Measure, Section

__all__ = [
    "answer_owner",
    "answer_outline",
    "answer_what",
    "answer_list",
    "answer_glossary",
    "answer_totals",
    "answer_passage",
    "answer_as_of",
]


# --- owner / start year ----------------------------------------------------------------------------------------
def answer_owner(k: Knowledge, mid: str, intent: Intent) -> Draft:
    d = Draft(measures=[measure_dict(k, mid)])
    groups = k.owners(mid)
    if not groups:
        m = k.primary(mid)
        if m is not None:
            d.evidence.append(measure_evidence(m))
        d.lines.append(
            f"{mid}は計画の表で（調整中）となっており、担当所属と事業開始年度は記載されていません。"
        )
        d.answerable = False
        return d
    for i, (m, owners) in enumerate(groups):
        parts = []
        for o in owners:
            start = (
                f"事業開始は{o.start_year_raw}（{o.start_year}年度）"
                if o.start_year
                else "事業開始年度の記載なし"
            )
            parts.append(f"{o.bureau} {o.section}（{start}）")
        who = "と".join(parts)
        years = {o.start_year_raw for o in owners if o.start_year}
        if i == 0 and intent.has("start_year") and not intent.has("owner") and len(years) == 1:
            o = next(o for o in owners if o.start_year)
            desk = "、".join(f"{x.bureau} {x.section}" for x in owners)
            d.lines.append(
                f"{measure_name(k, mid)}の事業開始は{o.start_year_raw}（{o.start_year}年度）です（担当: {desk}）。"
            )
        elif i == 0:
            joint = "の共同所管" if len(owners) > 1 else ""
            d.lines.append(f"{measure_name(k, mid)}の担当所属は{who}{joint}です。")
        else:
            d.lines.append(f"なお、{m.goal or '別の箇所'}での再掲では{who}と記載されています。")
        d.evidence.append(measure_evidence(m))
    starts = {o.start_year for _, os_ in groups for o in os_ if o.start_year}
    if (
        intent.has("claim")
        and intent.has("start_year")
        and (intent.years or intent.era)
        and starts
        and d.lines
    ):
        # 「2017年度からで合ってる？」「平成の頃から？」: はい／いいえ first; the printed start year follows either way
        held = starts & set(intent.years) or (intent.era and {era_of(y) for y in starts} == {intent.era})
        d.lines[0] = ("はい、" if held else "いいえ、") + d.lines[0]
    if (
        intent.has("start_year")
        and not intent.has("owner")
        and not any(o.start_year for _, os_ in groups for o in os_)
    ):
        d.lines.append("この施策の事業開始年度は表に記載されていません（「-」）。")
        d.answerable = False
    if intent.has("start_year"):
        _dated_sentences(d, k.primary(mid))
    return d


_DATED = re.compile(
    r"(?:令和|平成|昭和)\s*(?:元|[0-9０-９]{1,2})\s*年(?:\s*[0-9０-９]{1,2}\s*月)?[^。]*?(?:から|より|開始|運用|導入|稼働)"
)


def _dated_sentences(d: Draft, m: Measure | None) -> None:
    """When a measure's overview dates its start of operation (「令和３年１月から運用」), quote that sentence too:
    「いつから」 can mean the service, not the budget line's 事業開始."""
    if m is None or not m.overview:
        return
    hits = [x.strip() for x in re.split(r"(?<=。)", m.overview) if _DATED.search(x)]
    if hits:
        d.lines.append(f"概要には「{hits[0]}」とあります。")
        d.evidence.append(
            Evidence(m.doc_id, m.line_start, m.line_end, m.overview, m.measure_id, m.goal or None)
        )


# --- measure content ----------------------------------------------------------------------------------------
def answer_what(k: Knowledge, mid: str) -> Draft:
    m = k.primary(mid)
    d = Draft(measures=[measure_dict(k, mid)])
    if m is None:
        return d
    if m.placeholder or not m.overview:
        d.lines.append(f"{mid}は計画の表で（調整中）となっており、内容は記載されていません。")
        d.answerable = False
    else:
        owners = "、".join(f"{o.bureau} {o.section}" for o in m.owners)
        d.lines.append(f"{measure_name(k, mid)}（{m.goal}、担当: {owners}）の概要: {m.overview}")
    ev = measure_evidence(m)
    ev.quote = f"{ev.quote} {m.overview}"
    d.evidence.append(ev)
    return d


def answer_list(k: Knowledge, title: str, measures: list[Measure]) -> Draft:
    d = Draft()
    firsts = list({m.measure_id: m for m in reversed(measures)}.values())[::-1]  # first listing of each id
    desks = {"、".join(o.section for o in m.owners) for m in firsts}
    shared = desks.pop() if len(desks) == 1 else ""  # one department for all: said once, in the heading
    for m in firsts:
        owners = "" if shared else "、".join(o.section for o in m.owners)
        d.lines.append(f"・{m.measure_id} {m.name or '（調整中）'}" + (f"（{owners}）" if owners else ""))
        d.evidence.append(measure_evidence(m))
        d.measures.append(measure_dict(k, m.measure_id))
    seen = [m.measure_id for m in firsts]
    desk = f"（担当はいずれも{shared}）" if shared else ""
    d.lines.insert(0, f"{title}は次の{len(seen)}件です{desk}。")
    d.derived.append(f"{len(seen)}件")
    return d


def answer_outline(parent: Section | None, parts: list[Section], k: Knowledge) -> Draft:
    """A heading's sub-headings as the answer: 「目標達成の基盤となる取組」 -> (1) ..., (2) ..."""
    d = Draft()
    title = parent.title if parent is not None else parts[0].title
    d.lines.append(f"{k.titles.get(parts[0].doc_id, '')}の「{title}」は次の{len(parts)}つです。")
    d.derived.append(f"{len(parts)}つ")  # counted from the headings below
    if parent is not None:
        d.evidence.append(
            Evidence(
                parent.doc_id,
                parent.line_start,
                parent.line_end,
                f"{parent.label} {parent.title} {parent.text}",
                None,
                " > ".join(parent.path),
            )
        )
    for x in parts:
        d.lines.append(f"・{x.label} {x.title}")
        d.evidence.append(
            Evidence(
                x.doc_id, x.line_start, x.line_end, f"{x.label} {x.title} {x.text}", None, " > ".join(x.path)
            )
        )
    return d


def answer_as_of(k: Knowledge) -> Draft:
    """Which date a document's figures are as of, where the document states it."""
    d = Draft()
    for doc in k.catalog.documents:
        if doc.as_of_raw and doc.as_of_line:
            d.lines.append(f"{doc.title}の数値は{doc.as_of}時点のものです（資料の記載: {doc.as_of_raw}）。")
            d.evidence.append(Evidence(doc.doc_id, doc.as_of_line, doc.as_of_line, doc.as_of_raw))
    return d


def answer_glossary(c: Chunk) -> Draft:
    body = c.text.split(": ", 1)[-1]
    head = c.text.split(": ", 1)[0].replace("用語解説 ", "")
    head = re.sub(r"^\S+\.\s*", "", head)
    d = Draft(lines=[f"用語解説によると、「{head}」は{body.rstrip('。')}。"])
    d.evidence.append(Evidence(c.doc_id, c.line_start, c.line_end, c.text, None, "用語解説"))
    return d


def answer_totals(k: Knowledge, years: tuple[int, ...] = ()) -> Draft:
    """The report's overall 事業数 and amount, for the years it gives them (its own year and the reference year);
    another year asked is not in the documents."""
    stated = {t.fiscal_year for t in k.catalog.totals} | {
        y for t in k.catalog.totals if (y := fiscal_year(t.reference_year_raw or ""))
    }
    missing = [y for y in years if y not in stated]
    if missing:
        given = "・".join(fy_phrase(y) for y in sorted(stated))
        return Draft(
            lines=[
                f"実績報告にある事業数・金額は{given}のもので、{fy_phrase(missing[0])}の数値は記載されていません。"
            ],
            answerable=False,
        )
    d = Draft()
    for t in k.catalog.totals:
        title = k.titles.get(t.doc_id, t.doc_id)
        s = f"{title}によると、{era_label(t.fiscal_year)}年度のポリシー関連事業は事業数{t.project_count.raw}、{t.amount_kind}{t.amount.raw}です。"
        if t.reference_amount:
            cnt = t.reference_project_count.raw if t.reference_project_count else ""
            s += f"参考として{t.reference_year_raw}実績は事業数{cnt}、{t.reference_amount_kind}{t.reference_amount.raw}です。"
        d.lines.append(s)
        quote = (
            f"事業数 {t.project_count.raw} {t.amount_kind} {t.amount.raw} 【参考】{t.reference_year_raw or ''}実績 "
            f"事業数 {t.reference_project_count.raw if t.reference_project_count else ''} "
            f"{t.reference_amount_kind or ''} {t.reference_amount.raw if t.reference_amount else ''}"
        )
        d.evidence.append(Evidence(t.doc_id, t.line_start, t.line_end, quote, None, None))
    return d


def answer_passage(c: Chunk, k: Knowledge, question: str = "", following: Chunk | None = None) -> Draft:
    if (
        c.kind == "totals" and k.catalog.totals
    ):  # a record, rendered as one (a follow-up links the answer to it)
        return answer_totals(k)
    body = (c.text.split("\n", 1)[-1] if c.kind == "section" else c.text).strip()
    d = Draft()
    d.evidence.append(
        Evidence(
            c.doc_id,
            c.line_start,
            c.line_end,
            body,
            c.measure_ids[0] if c.measure_ids else None,
            c.section or None,
        )
    )
    if following is not None and len(body) < 200 or (following is not None and body.endswith(("：", ":"))):
        more = following.text.split("\n", 1)[-1].strip()
        body = f"{body}\n{more}"
        d.evidence.append(
            Evidence(
                following.doc_id,
                following.line_start,
                following.line_end,
                more,
                None,
                following.section or None,
            )
        )
    excerpt = _best_sentences(body, question, k) if question else body
    d.lines.append(f"「{excerpt}」（{k.titles.get(c.doc_id, c.doc_id)}より）")
    counted = listed_count(question, body) if question and c.kind == "initiative" else None
    if counted:  # 「何種類？」 of a bullet that lists its items: the count first, derived from its own list
        d.lines.insert(0, counted[0])
        d.derived.append(counted[1])
    for s in used_in(excerpt, c.doc_id, k.short_names):  # a short name the page defined elsewhere, explained
        d.lines.append(
            f"「{s.name}」は、{k.titles.get(s.doc_id, s.doc_id)}で次のように定義されています: 「{s.definition}」"
        )
        d.evidence.append(Evidence(s.doc_id, s.line_start, s.line_end, s.definition, None, None))
    return d


def _best_sentences(body: str, question: str, k: Knowledge, limit: int = 420) -> str:
    """The sentences of `body` that cover the question best, about `limit` characters: the best one first (the
    direct answer), then the others in source order."""
    sents = [x for x in re.split(r"(?<=[。！？])|\n", body) if x.strip()]
    if len("".join(sents)) <= limit:
        return body
    asked = asked_type(question)  # a sentence that holds the asked type (a date for 「いつ」) leads
    scored = sorted(
        range(len(sents)),
        key=lambda i: (
            -round(k.coverage(question, sents[i]), 1),
            not (asked and holds_type(asked[0], sents[i], question)),
        ),
    )
    keep: set[int] = set()
    size = 0
    for i in scored:
        if size and size + len(sents[i]) > limit:
            break
        keep.add(i)
        size += len(sents[i])
    best = scored[0]
    rest = sorted(keep - {best})
    return "…".join([sents[best].strip(), *_runs([sents[i].strip() for i in rest], rest)])


def _runs(texts: list[str], idx: list[int]) -> list[str]:
    """Join adjacent sentences; gaps become a separator."""
    out: list[str] = []
    prev = None
    for t, i in zip(texts, idx, strict=True):
        if prev is not None and i == prev + 1:
            out[-1] += t
        else:
            out.append(t)
        prev = i
    return out
