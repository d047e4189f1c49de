"""Compose answers that join records: which measure a KPI belongs to (reverse look-up), yes/no checks of a claimed
department, and the change of a KPI between two years. Every name and figure comes from the records; a value the
answer computes (a difference) is listed in `Draft.derived` so the verification gate knows where it came from.
"""

from __future__ import annotations

import re

from assistant.draft import (
    Draft,
    kpi_evidence,
    measure_dict,
    measure_evidence,
    measure_name,
    progress_evidence,
    shown,
)
from assistant.intent import Intent
from assistant.knowledge import Knowledge
from assistant.retrieve import Hit
from ingest.normalize import nfkc
from ingest.records import PlanKpi, ProgressKpi

__all__ = ["answer_which_measure", "answer_claim", "change_line"]


def _plan_rows(k: Knowledge, kpi: PlanKpi) -> list[PlanKpi]:
    """Every plan row printing the same KPI item (one KPI can be listed under two measures)."""
    return [x for x in k.catalog.kpis if x.item == kpi.item]


def answer_which_measure(k: Knowledge, hit: Hit | None) -> Draft | None:
    """「この指標はどの施策のもの？」: the measures of the KPI the question names."""
    if hit is None:
        return None
    rec = hit.chunk.record_ref
    plan = k.kpi_by_id.get(rec)
    box = k.progress_by_id.get(rec)
    if box is not None and plan is None:
        plan = k.kpi_by_id.get(box.plan_kpi_id or "")
    rows = _plan_rows(k, plan) if plan is not None else []
    mids = list(dict.fromkeys(m for x in rows for m in x.measure_ids)) or list(box.measure_ids if box else [])
    if not mids:
        return None
    name = plan.item if plan is not None else (box.name if box else "")
    d = Draft()
    d.lines.append(f"目標指標「{name}」は{'、'.join(measure_name(k, m) for m in mids)}のKPIです。")
    d.evidence += [kpi_evidence(x) for x in rows]
    if box is not None:
        d.evidence.append(progress_evidence(box))
    for mid in mids:
        m = k.primary(mid)
        if m is not None:
            d.evidence.append(measure_evidence(m))
            d.measures.append(measure_dict(k, mid))
    return d


def answer_claim(
    k: Knowledge, mid: str, claims: tuple[str, ...], intent: Intent, question: str = ""
) -> Draft:
    """「…は○○課の担当で合ってる？」: はい／いいえ first, then the owners as printed; 「○○課だけの担当？」 of a
    measure other departments own too is answered いいえ."""
    m = k.primary(mid)
    owners = [o for _, os_ in k.owners(mid) for o in os_]
    d = Draft(measures=[measure_dict(k, mid)])
    if m is None or not owners:
        d.lines.append(f"{mid}の担当所属は計画の表に記載されていません。")
        d.answerable = False
        return d
    desk = "、".join(dict.fromkeys(f"{o.bureau} {o.section}" for o in owners))
    held = [c for c in claims if any(c in o.section or c in o.bureau for o in owners)]
    others = [o for o in owners if not any(c in o.section or c in o.bureau for c in claims)]
    # 「情報政策課だけの担当？」: the claimed department (as the catalog names it) alone, no other owner
    alone = any(re.search(rf"{re.escape(c)}\s*(?:だけ|のみ|単独)", nfkc(question)) for c in held)
    if others and alone:
        d.lines.append(
            f"いいえ、{measure_name(k, mid)}の担当所属は{desk}で、{'・'.join(claims)}だけではありません。"
        )
    elif held:
        d.lines.append(f"はい、{measure_name(k, mid)}の担当所属は{desk}です。")
    else:
        d.lines.append(
            f"いいえ、{measure_name(k, mid)}の担当所属は{desk}で、{'・'.join(claims)}ではありません。"
        )
        d.derived += list(claims)  # the claimed department is the question's, denied by the record
    d.evidence.append(measure_evidence(m))
    return d


def change_line(p: ProgressKpi) -> tuple[str, str] | None:
    """The change from a box's baseline to its latest actual, and the computed difference as printed."""
    if not (p.baseline and p.latest) or p.baseline.value is None or p.latest.value is None:
        return None
    diff = round(p.latest.value - p.baseline.value, 2)
    unit = "ポイント" if "%" in (p.unit or p.latest.raw) or "％" in p.latest.raw else (p.unit or "")
    amount = f"{abs(diff):g}"
    verb = "増加" if diff > 0 else ("減少" if diff < 0 else "変化なし")
    return (
        f"{p.baseline_year_raw or '基準年'}の{shown(p.baseline, p.unit)}から{p.latest_year_raw or '最新'}の"
        f"{shown(p.latest, p.unit)}へ、{amount}{unit}の{verb}です。",
        amount,
    )
