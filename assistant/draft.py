"""What an answer is made of: a `Draft` (its sentences, the records it used, the evidence it cites) and the one
rendering of a record into the quote an answer cites. Every figure in a draft is copied from a record ingest read;
the verification gate (assistant/verify.py) checks it against the source lines the evidence cites, as printed
(assistant/respond.py `gate_sources`), not against these quotes; a figure the draft computes goes in `derived`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.knowledge import Knowledge
from assistant.verify import stated_figures
from ingest.chunk import render_kpi, render_measure, render_progress_kpi
from ingest.normalize import era_label, nfkc
from ingest.records import Measure, PlanKpi, ProgressKpi, Quantity

__all__ = [
    "Draft",
    "abstain",
    "combine",
    "Evidence",
    "fy_phrase",
    "shown",
    "measure_evidence",
    "kpi_evidence",
    "progress_evidence",
    "measure_dict",
    "measure_name",
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
    also: tuple[str, ...] = ()  # the other measures a KPI row is printed for: cited too


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


def shown(q: Quantity | None, unit: str | None = None) -> str:
    if q is None:
        return "（記載なし）"
    if q.value is None:
        return q.raw
    u = unit if unit and nfkc(unit) not in nfkc(q.raw) else ""
    return f"{q.raw}{'' if u in ('', None) else u}"


def measure_evidence(m: Measure) -> Evidence:
    """A measure listing as cited: the same rendering its chunk has (ingest/chunk.py)."""
    return Evidence(m.doc_id, m.line_start, m.line_end, render_measure(m), m.measure_id, m.goal or None)


def measure_dict(k: Knowledge, mid: str) -> dict[str, Any]:
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


def measure_name(k: Knowledge, mid: str) -> str:
    m = k.primary(mid)
    return f"{mid}「{m.name}」" if m and m.name else mid


def kpi_evidence(kpi: PlanKpi) -> Evidence:
    """A plan KPI row as cited: the rendering of its chunk."""
    mid = kpi.measure_ids[0] if kpi.measure_ids else None
    also = tuple(kpi.measure_ids[1:])
    return Evidence(kpi.doc_id, kpi.line_start, kpi.line_end, render_kpi(kpi), mid, kpi.goal or None, also)


def progress_evidence(p: ProgressKpi) -> Evidence:
    """A report KPI box as cited: the rendering of its chunk."""
    mid = p.measure_ids[0] if p.measure_ids else None
    also = tuple(p.measure_ids[1:])
    return Evidence(p.doc_id, p.line_start, p.line_end, render_progress_kpi(p, ""), mid, p.goal or None, also)


def combine(drafts: list[Draft]) -> Draft:
    """One draft from the parts' drafts: answered parts first; a part the documents lack says so, and the whole
    stays answerable when any part is answered."""
    if len(drafts) == 1:
        return drafts[0]
    answered = [d for d in drafts if d.answerable]
    if not answered:
        out = Draft(answerable=False)
        for d in drafts:
            out.extend(d)
        out.answerable = False
        return out
    out = Draft()
    for d in answered + [d for d in drafts if not d.answerable]:
        d.lines = [x for x in d.lines if x not in out.lines and not _said_in(x, out.lines)]
        answerable = out.answerable
        out.extend(d)
        out.answerable = answerable
    return out


def _said_in(line: str, earlier: list[str]) -> bool:
    """Does an earlier line already say this plan-KPI sentence: the same KPI, every figure among its figures (a later
    part's 「R5の目標」 after the first part's targets of every year)?"""
    kpi = re.match(r"目標指標(「[^」]+」)", line)
    if not kpi:
        return False
    figures = stated_figures(line)
    return any(e.startswith(f"目標指標{kpi.group(1)}") and figures <= stated_figures(e) for e in earlier)


def abstain(text: str) -> Draft:
    """A draft that says the documents do not answer: `text`, not answerable."""
    return Draft(lines=[text], answerable=False)
