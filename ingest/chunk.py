"""Catalog -> retrieval chunks.

One chunk per measure listing, per plan KPI row, per progress KPI box, per glossary entry and per initiative;
narrative sections are cut into passages at sentence ends and never cross a heading. Tables are rendered as
readable Japanese sentences so both BM25 and the embedder see item, figures and years together.
Chunk ids are content hashes: re-ingesting unchanged text yields the same ids.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ingest.records import Catalog, Chunk, Initiative, Measure, PlanKpi, ProgressKpi, Quantity

__all__ = [
    "build_chunks",
    "initiative_refs",
    "initiative_ref",
    "CHUNKER_VERSION",
    "render_measure",
    "render_kpi",
    "render_progress_kpi",
]

CHUNKER_VERSION = "3"
PASSAGE_CHARS = 360


def build_chunks(cat: Catalog) -> list[Chunk]:
    titles = {d.doc_id: d.title for d in cat.documents}
    chunks: list[Chunk] = []
    for m in cat.measures:
        chunks.append(
            _chunk(
                "measure",
                m.doc_id,
                render_measure(m),
                m.line_start,
                m.line_end,
                measure_ids=[m.measure_id],
                section=" > ".join(m.section_path),
                goal=m.goal,
                departments=[o.section for o in m.owners],
                record_ref=f"{m.measure_id}@{m.line_start}",
            )
        )
    about = _measure_lines(cat)
    for k in cat.kpis:
        chunks.append(
            _chunk(
                "kpi",
                k.doc_id,
                render_kpi(k) + _about(about, k.measure_ids),
                k.line_start,
                k.line_end,
                measure_ids=k.measure_ids,
                goal=k.goal,
                record_ref=k.kpi_id,
            )
        )
    for p in cat.progress_kpis:
        title = titles.get(p.doc_id, p.doc_id)
        chunks.append(
            _chunk(
                "progress_kpi",
                p.doc_id,
                render_progress_kpi(p, title) + _about(about, p.measure_ids),
                p.line_start,
                p.line_end,
                measure_ids=p.measure_ids,
                goal=p.goal,
                record_ref=p.kpi_id,
            )
        )
    for t in cat.totals:
        parts = [
            f"{titles.get(t.doc_id, t.doc_id)} 事業数 {t.project_count.raw} {t.amount_kind} {t.amount.raw}"
        ]
        if t.reference_amount:
            parts.append(
                f"【参考】{t.reference_year_raw or ''}実績 事業数 "
                f"{t.reference_project_count.raw if t.reference_project_count else ''} "
                f"{t.reference_amount_kind or ''} {t.reference_amount.raw}"
            )
        parts += [
            f"{g.get('goal', '')} 関連事業 {g.get('count', '')} {g.get('amount', '')}".strip()
            for g in t.by_goal
        ]
        chunks.append(
            _chunk("totals", t.doc_id, "\n".join(parts), t.line_start, t.line_end, record_ref="totals")
        )
    for i, ref in zip(cat.initiatives, initiative_refs(cat.initiatives), strict=True):
        text = (
            f"{i.goal} R5年度の主要取組: {i.text}"
            + (f" {i.detail}" if i.detail else "")
            + ("【新規】" if i.new else "")
        )
        if i.guideline:
            text = (
                f"{i.goal} ポリシー行動指針「{i.guideline}」の取組: {i.text}"
                + (f" {i.detail}" if i.detail else "")
                + ("【新規】" if i.new else "")
            )
        chunks.append(
            _chunk(
                "initiative",
                i.doc_id,
                text,
                i.line_start,
                i.line_end,
                goal=i.goal,
                record_ref=ref,
            )
        )
    for g in cat.glossary:
        head = f"用語解説 {g.number}. " if g.number else "用語解説 "
        chunks.append(
            _chunk(
                "glossary",
                g.doc_id,
                f"{head}{g.term}: {g.definition}",
                g.line_start,
                g.line_end,
                record_ref=f"glossary:{g.term}",
            )
        )
    for s in cat.sections:
        path = " > ".join(s.path)
        for j, passage in enumerate(_passages(s.text)):
            chunks.append(
                _chunk(
                    "section",
                    s.doc_id,
                    f"{path}\n{passage}",
                    s.line_start,
                    s.line_end,
                    section=path,
                    record_ref=f"{s.section_id}#{j}",
                )
            )
    return chunks


def _chunk(kind: str, doc_id: str, text: str, start: int, end: int, **meta: object) -> Chunk:
    digest = hashlib.sha256(f"{doc_id}\x1f{kind}\x1f{start}-{end}\x1f{text}".encode()).hexdigest()[:24]
    payload: dict[str, Any] = {
        "chunk_id": f"{doc_id}-{kind}-{digest}",
        "doc_id": doc_id,
        "kind": kind,
        "text": text,
        "line_start": start,
        "line_end": end,
        **meta,
    }
    return Chunk.model_validate(payload)


def _q(q: Quantity | None) -> str:
    return q.raw if q else "-"


def render_measure(m: Measure) -> str:
    head = f"施策 {m.measure_id}"
    if m.placeholder:
        return f"{head}（調整中） {m.goal}".strip()
    marks = ("★KPIあり " if m.kpi_mark else "") + ("再掲 " if m.relisted else "")
    owners = "、".join(f"{o.bureau} {o.section}（事業開始 {o.start_year_raw or 'なし'}）" for o in m.owners)
    return f"{head} {m.name} {marks}\n担当所属: {owners}\n目標: {m.goal}\n概要: {m.overview}"


def _measure_lines(cat: Catalog) -> dict[str, str]:
    """measure id -> 「<id> <name>（<bureau> <section>）」 from its first full listing."""
    out: dict[str, str] = {}
    for m in sorted(cat.measures, key=lambda m: (m.relisted, m.line_start)):
        if m.measure_id not in out and m.name:
            owners = "、".join(f"{o.bureau} {o.section}" for o in m.owners)
            out[m.measure_id] = f"{m.measure_id} {m.name}（{owners}）"
    return out


def _about(about: dict[str, str], ids: list[str]) -> str:
    """A KPI chunk names its measures and their owners, so 「警察のICT研修」 finds the police measure's KPI."""
    lines = [about[i] for i in ids if i in about]
    return ("\n施策: " + " / ".join(lines)) if lines else ""


def render_kpi(k: PlanKpi) -> str:
    unit = f"（{k.unit}）" if k.unit else ""
    targets = " / ".join(f"{y} {_q(q)}" for y, q in k.targets.items())
    ref = " ※参考値" if k.reference_value else ""
    date = f"（{k.baseline_date_raw}）" if k.baseline_date_raw else ""
    return (
        f"目標指標（KPI） {k.measure_ref_raw} {k.item}{unit}: 現状値 {_q(k.baseline)}{date}、"
        f"目標値 {targets}{ref}\n目標: {k.goal}"
    )


def render_progress_kpi(p: ProgressKpi, doc_title: str) -> str:
    parts = [f"{doc_title} KPI {p.name}:"]
    if p.baseline:
        parts.append(f"基準値 {p.baseline_year_raw or ''} {p.baseline.raw}")
    if p.latest:
        parts.append(f"実績値 {p.latest_year_raw or ''} {p.latest.raw}")
    if p.target:
        parts.append(f"目標（{p.target_year_raw or ''}） {p.target.raw}")
    if p.achievement_rate_raw:
        parts.append(f"達成率 {p.achievement_rate_raw}")
    parts += p.notes
    return " ".join(parts) + f"\n目標: {p.goal}"


_SENT_END = re.compile(r"(?<=[。！？])")


def _passages(text: str) -> list[str]:
    """Cut a section's text into passages of about PASSAGE_CHARS at sentence or line ends."""
    units: list[str] = []
    for para in text.split("\n"):
        units += [u for u in _SENT_END.split(para) if u.strip()]
    out: list[str] = []
    cur = ""
    for u in units:
        if cur and len(cur) + len(u) > PASSAGE_CHARS:
            out.append(cur)
            cur = ""
        cur += u if not cur else ("" if cur.endswith(("。", "！", "？")) else "\n") + u
    if cur.strip():
        out.append(cur)
    return out


def initiative_refs(initiatives: list[Initiative]) -> list[str]:
    """The record ref of each initiative: its first line, and a count when bullets share that line."""
    seen: dict[int, int] = {}
    out = []
    for i in initiatives:
        n = seen.get(i.line_start, 0)
        seen[i.line_start] = n + 1
        out.append(initiative_ref(i.line_start, n))
    return out


def initiative_ref(line_start: int, n: int = 0) -> str:
    """The record ref of the `n`-th initiative (from 0) whose bullet starts on `line_start`."""
    return f"initiative@{line_start}" + (f".{n}" if n else "")
