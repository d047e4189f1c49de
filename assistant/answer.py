"""Compose grounded Japanese answers from records first, passages second.

Each `Draft` holds the answer sentences, the records it used and the chunks it cites. Every figure and
department in a draft is copied from a record that ingest read; `verify` (assistant/verify.py) checks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.catalog import box_view, kpi_view
from assistant.intent import Intent
from assistant.knowledge import Knowledge
from assistant.status import box_status
from ingest.normalize import era_label, fiscal_year, nfkc
from ingest.records import Chunk, Measure, PlanKpi, ProgressKpi, Quantity, Section

__all__ = [
    "Draft",
    "Evidence",
    "answer_owner",
    "answer_outline",
    "answer_kpi",
    "answer_what",
    "answer_list",
    "answer_glossary",
    "answer_totals",
    "answer_passage",
    "fy_phrase",
]


@dataclass
class Evidence:
    """A record or passage an answer rests on: cited with its document and line range."""

    doc_id: str
    line_start: int
    line_end: int
    quote: str
    measure_id: str | None = None
    section: str | None = None


@dataclass
class Draft:
    lines: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    measures: list[dict[str, Any]] = field(default_factory=list)
    kpis: list[dict[str, Any]] = field(default_factory=list)
    answerable: bool = True
    derived: list[str] = field(
        default_factory=list
    )  # facts computed from the cited records (a count of them)

    def extend(self, other: Draft) -> None:
        self.lines += other.lines
        self.evidence += other.evidence
        self.derived += other.derived
        self.answerable = self.answerable and other.answerable
        self.measures += [m for m in other.measures if m not in self.measures]
        self.kpis += [k for k in other.kpis if k not in self.kpis]


def fy_phrase(year: int) -> str:
    """2023 -> 「R5（2023年度）」."""
    return f"{era_label(year)}（{year}年度）"


def _q(q: Quantity | None, unit: str | None = None) -> str:
    if q is None:
        return "（記載なし）"
    if q.value is None:
        return q.raw
    u = unit if unit and nfkc(unit) not in nfkc(q.raw) else ""
    return f"{q.raw}{'' if u in ('', None) else u}"


def _measure_evidence(m: Measure) -> Evidence:
    owners = "、".join(f"{o.bureau} {o.section} {o.start_year_raw or '-'}" for o in m.owners)
    quote = f"{m.measure_id} {m.name or '（調整中）'} {owners} {m.goal}".strip()
    return Evidence(m.doc_id, m.line_start, m.line_end, quote, m.measure_id, m.goal or None)


def _measure_dict(k: Knowledge, mid: str) -> dict[str, Any]:
    m = k.primary(mid)
    if m is None:
        return {}
    d = m.model_dump(mode="json")
    d["listings"] = [
        {
            "line_start": x.line_start,
            "line_end": x.line_end,
            "goal": x.goal,
            "relisted": x.relisted,
            "kpi_mark": x.kpi_mark,
        }
        for x in k.listings[mid]
    ]
    d["kpi_mark"] = any(x.kpi_mark for x in k.listings[mid])
    return d


def _name(k: Knowledge, mid: str) -> str:
    m = k.primary(mid)
    return f"{mid}「{m.name}」" if m and m.name else mid


# --- owner / start year ----------------------------------------------------------------------------------------
def answer_owner(k: Knowledge, mid: str, intent: Intent) -> Draft:
    d = Draft(measures=[_measure_dict(k, mid)])
    groups = k.owners(mid)
    if not groups:
        m = k.primary(mid)
        if m is not None:
            d.evidence.append(_measure_evidence(m))
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
                f"{_name(k, mid)}の事業開始は{o.start_year_raw}（{o.start_year}年度）です（担当: {desk}）。"
            )
        elif i == 0:
            joint = "の共同所管" if len(owners) > 1 else ""
            d.lines.append(f"{_name(k, mid)}の担当所属は{who}{joint}です。")
        else:
            d.lines.append(f"なお、{m.goal or '別の箇所'}での再掲では{who}と記載されています。")
        d.evidence.append(_measure_evidence(m))
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


# --- KPIs ---------------------------------------------------------------------------------------------------
def _targets_text(kpi: PlanKpi, years: list[int], final: bool) -> tuple[str, bool]:
    """Targets of the asked years, else all. Returns (text, every asked year found)."""
    labels = [era_label(y) for y in years]
    if final and kpi.targets:
        labels = [list(kpi.targets)[-1]]
    asked = [lab for lab in labels if lab in kpi.targets]
    if labels and not asked:
        return "", False
    show = asked or list(kpi.targets)
    parts = [f"{lab}（{fiscal_year(lab)}年度）{_q(kpi.targets[lab], kpi.unit)}" for lab in show]
    return "、".join(parts), True


def plan_kpi_sentence(kpi: PlanKpi, intent: Intent) -> tuple[str, bool]:
    unit = f"（単位: {kpi.unit}）" if kpi.unit else ""
    when = f"（{kpi.baseline_date_raw}時点）" if kpi.baseline_date_raw else ""
    base = f"現状値は{_q(kpi.baseline, kpi.unit)}{when}" if kpi.baseline else ""
    targets, ok = _targets_text(kpi, intent.years, intent.final_year)
    ref = "（※参考値）" if kpi.reference_value else ""
    if not ok:
        return "", False
    tail = f"目標値は{targets}です{ref}。"
    if intent.has("baseline") and not intent.has("target"):
        tail = f"（目標値: {targets}）{ref}。"
        return f"目標指標「{kpi.item}」{unit}の{base}{tail}", True
    return f"目標指標「{kpi.item}」{unit}の{base + '、' if base else ''}{tail}", True


def progress_sentence(p: ProgressKpi, title: str) -> str:
    parts = []
    if p.latest:
        parts.append(f"{p.latest_year_raw or ''}実績は{_q(p.latest, p.unit)}")
    if p.baseline:
        parts.append(f"基準値は{p.baseline_year_raw or ''}の{_q(p.baseline, p.unit)}")
    if p.target:
        parts.append(f"目標（{p.target_year_raw or ''}）は{_q(p.target, p.unit)}")
    s = f"{title}によると、「{p.name}」の" + "、".join(parts)
    if p.achievement_rate_raw:
        s += f"で、達成率は{p.achievement_rate_raw}と記載されています"
    s += "。"
    status = _status(p)
    if status:
        s += status
    if p.notes:
        s += "（" + "、".join(p.notes) + "）"
    return s


def _status(p: ProgressKpi) -> str:
    """The verdict sentence, from the one status rule (assistant/status.py)."""
    met = box_status(p).met
    if met is None:
        return ""
    when = f"{p.latest_year_raw or '最新'}時点"
    target = f"目標（{p.target_year_raw or ''}）の{_q(p.target, p.unit)}"
    return f"{when}で{target}に達しています。" if met else f"{when}では{target}に達していません。"


def _kpi_evidence(kpi: PlanKpi) -> Evidence:
    targets = " ".join(f"{lab} {q.raw}" for lab, q in kpi.targets.items())
    quote = f"{kpi.measure_ref_raw} {kpi.item} （{kpi.unit or ''}） {_q(kpi.baseline)} （{kpi.baseline_date_raw}） {targets}"
    mid = kpi.measure_ids[0] if kpi.measure_ids else None
    return Evidence(kpi.doc_id, kpi.line_start, kpi.line_end, quote, mid, kpi.goal or None)


def _progress_evidence(p: ProgressKpi) -> Evidence:
    bits = [
        p.name,
        f"{p.baseline_year_raw or ''} {_q(p.baseline)}" if p.baseline else "",
        f"{p.latest_year_raw or ''} {_q(p.latest)}" if p.latest else "",
        f"目標（{p.target_year_raw}）{_q(p.target)}" if p.target else "",
        f"達成率{p.achievement_rate_raw}" if p.achievement_rate_raw else "",
        *p.notes,
    ]
    mid = p.measure_ids[0] if p.measure_ids else None
    return Evidence(p.doc_id, p.line_start, p.line_end, " ".join(b for b in bits if b), mid, p.goal or None)


def answer_kpi(k: Knowledge, plan_kpis: list[PlanKpi], boxes: list[ProgressKpi], intent: Intent) -> Draft:
    d = Draft()
    want_actual = intent.has("actual", "met")
    show_boxes = want_actual or intent.has(
        "figure"
    )  # 「交付率は？」: the plan's figures and the latest actual
    want_plan = intent.has("target", "baseline", "kpi", "figure") or not want_actual
    plan_kpis = _distinct_kpis(plan_kpis)
    missing_year = False
    for kpi in plan_kpis:
        d.kpis.append(kpi_view(k.catalog, kpi))
        if kpi.placeholder:
            d.lines.append(
                f"{kpi.measure_ref_raw}の目標指標は計画の表で（調整中）となっており、項目・目標値は記載されていません。"
            )
            d.evidence.append(_kpi_evidence(kpi))
            d.answerable = False
            continue
        linked = k.progress_by_plan.get(kpi.kpi_id, [])
        boxes += [p for p in linked if p not in boxes]
        if want_plan or not linked:
            s, ok = plan_kpi_sentence(kpi, intent)
            if not ok:
                missing_year = True
                continue
            d.lines.append(s)
            d.evidence.append(_kpi_evidence(kpi))
    if want_actual and not boxes and plan_kpis and d.answerable:
        reports = [x.title for x in k.catalog.documents if x.kind == "progress"]
        d.lines.append(f"{'・'.join(reports) or '実績報告'}には、この指標の実績値は記載されていません。")
        d.answerable = False
    for p in boxes:
        d.kpis.append(box_view(p))
        if not show_boxes and plan_kpis:
            continue
        d.lines.append(progress_sentence(p, k.titles.get(p.doc_id, p.doc_id)))
        d.evidence.append(_progress_evidence(p))
        _check_year_and_status(d, p, intent)
        if intent.has("change"):
            from assistant.facts import change_line

            change = change_line(p)
            if change:
                d.lines.insert(len(d.lines) - 1, change[0])
                d.derived.append(change[1])
        plan = k.kpi_by_id.get(p.plan_kpi_id or "")
        if plan and plan.baseline and p.baseline and plan.baseline.value != p.baseline.value:
            d.lines.append(
                f"なお、計画の現状値は{_q(plan.baseline, plan.unit)}（{plan.baseline_date_raw}時点）で、"
                f"実績報告の基準値（{p.baseline_year_raw}: {_q(p.baseline, p.unit)}）と異なります。"
            )
            d.evidence.append(_kpi_evidence(plan))
        if plan and intent.has("met"):
            _compare_with_plan(d, plan, p)
    if missing_year and not d.lines:
        years = "、".join(fy_phrase(y) for y in intent.years)
        labels = "、".join(plan_kpis[0].targets) if plan_kpis else ""
        d.lines.append(f"計画の目標値は{labels}の年度分のみで、{years}の目標値は記載されていません。")
        d.answerable = False
        d.evidence += [_kpi_evidence(x) for x in plan_kpis]
    return d


def _distinct_kpis(kpis: list[PlanKpi]) -> list[PlanKpi]:
    """The same KPI row printed under two measures is one KPI (both measure ids stay on the record)."""
    seen: set[str] = set()
    out = []
    for x in kpis:
        key = f"{x.item}|{x.baseline.raw if x.baseline else ''}|{[q.raw for q in x.targets.values()]}"
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _check_year_and_status(d: Draft, p: ProgressKpi, intent: Intent) -> None:
    latest_year = fiscal_year(p.latest_year_raw) if p.latest_year_raw else None
    printed = {fiscal_year(x or "") for x in (p.target_year_raw, p.baseline_year_raw)}
    asked = [y for y in intent.years if y not in printed]
    if intent.has("actual", "change") and asked and latest_year and latest_year not in asked:
        d.lines.append(
            f"{fy_phrase(asked[0])}の実績値は報告書に記載がなく、最新は{p.latest_year_raw}の値です。"
        )
        d.answerable = False
    if intent.has("met") and not p.achievement_rate_raw and not _status(p):
        d.lines.append("目標が数値で示されていないため、達成したかどうかは資料から判断できません。")
        d.answerable = False


def _compare_with_plan(d: Draft, plan: PlanKpi, p: ProgressKpi) -> None:
    lab = p.latest_year_raw or ""
    target = plan.targets.get(lab)
    if not (target and target.value is not None and p.latest and p.latest.value is not None):
        return
    verb = "上回って" if p.latest.value >= target.value else "下回って"
    d.lines.append(
        f"計画の{lab}目標値{_q(target, plan.unit)}と比べると、{lab}実績{_q(p.latest, p.unit)}は目標を{verb}います。"
    )
    d.evidence.append(_kpi_evidence(plan))


# --- measure content ----------------------------------------------------------------------------------------
def answer_what(k: Knowledge, mid: str) -> Draft:
    m = k.primary(mid)
    d = Draft(measures=[_measure_dict(k, mid)])
    if m is None:
        return d
    if m.placeholder or not m.overview:
        d.lines.append(f"{mid}は計画の表で（調整中）となっており、内容は記載されていません。")
        d.answerable = False
    else:
        owners = "、".join(f"{o.bureau} {o.section}" for o in m.owners)
        d.lines.append(f"{_name(k, mid)}（{m.goal}、担当: {owners}）の概要: {m.overview}")
    ev = _measure_evidence(m)
    ev.quote = f"{ev.quote} {m.overview}"
    d.evidence.append(ev)
    return d


def answer_list(k: Knowledge, title: str, measures: list[Measure]) -> Draft:
    d = Draft()
    seen: list[str] = []
    for m in measures:
        if m.measure_id in seen:
            continue
        seen.append(m.measure_id)
        owners = "、".join(o.section for o in m.owners)
        d.lines.append(f"・{m.measure_id} {m.name or '（調整中）'}" + (f"（{owners}）" if owners else ""))
        d.evidence.append(_measure_evidence(m))
        d.measures.append(_measure_dict(k, m.measure_id))
    d.lines.insert(0, f"{title}は次の{len(seen)}件です。")
    d.derived.append(f"{len(seen)}件")
    return d


def answer_outline(parent: Section | None, parts: list[Section], k: Knowledge) -> Draft:
    """A heading's sub-headings as the answer: 「目標達成の基盤となる取組」 -> (1) ..., (2) ..."""
    d = Draft()
    title = parent.title if parent is not None else parts[0].title
    d.lines.append(f"{k.titles.get(parts[0].doc_id, '')}の「{title}」は次のとおりです。")
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


def answer_totals(k: Knowledge) -> Draft:
    d = Draft()
    for t in k.catalog.totals:
        title = k.titles.get(t.doc_id, t.doc_id)
        s = f"{title}によると、R{t.fiscal_year - 2018}年度のポリシー関連事業は事業数{t.project_count.raw}、{t.amount_kind}{t.amount.raw}です。"
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
    d.lines.append(f"{k.titles.get(c.doc_id, c.doc_id)}には次のように書かれています: 「{excerpt}」")
    return d


def _best_sentences(body: str, question: str, k: Knowledge, limit: int = 420) -> str:
    """The sentences of `body` that cover the question best, in source order, about `limit` characters."""
    sents = [x for x in re.split(r"(?<=[。！？])|\n", body) if x.strip()]
    if len("".join(sents)) <= limit:
        return body
    scored = sorted(range(len(sents)), key=lambda i: -k.coverage(question, sents[i]))
    keep: set[int] = set()
    size = 0
    for i in scored:
        if size and size + len(sents[i]) > limit:
            break
        keep.add(i)
        size += len(sents[i])
    return "…".join(_runs([sents[i].strip() for i in sorted(keep)], sorted(keep)))


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


def kpis_for(k: Knowledge, mid: str) -> tuple[list[PlanKpi], list[ProgressKpi]]:
    plan = k.kpis_by_measure.get(mid, [])
    boxes = list(k.progress_by_measure.get(mid, []))
    return plan, boxes
