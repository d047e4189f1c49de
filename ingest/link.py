"""Link progress KPI boxes (R5年度実績の目標指標) to the plan: to its KPI rows (目標指標（ＫＰＩ）), else to a measure (施策).

`link_progress_kpis` matches a box to the one plan KPI whose item clearly resembles its name;
`link_boxes_to_measures` links a box that matches no KPI row to the one measure of its goal that shares a
run of content characters with it. Both return copies and leave unclear matches unlinked.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from ingest.normalize import nfkc
from ingest.records import Measure, PlanKpi, ProgressKpi

__all__ = ["link_progress_kpis", "link_boxes_to_measures"]


def _chars(name: str) -> set[str]:
    """Content characters of a name: NFKC, lower-case, without hiragana, spaces and punctuation."""
    return {c for c in nfkc(name).lower() if c.isalnum() and not "\u3041" <= c <= "\u309f"}


def _similarity(a: str, b: str) -> float:
    ca, cb = _chars(a), _chars(b)
    return 2 * len(ca & cb) / (len(ca) + len(cb)) if ca and cb else 0.0


def _percent(unit: str | None) -> bool | None:
    return None if not unit else "%" in nfkc(unit)


def link_progress_kpis(
    kpis: list[ProgressKpi], plan_kpis: list[PlanKpi], threshold: float = 0.6, margin: float = 0.1
) -> list[ProgressKpi]:
    """Copies of `kpis` with `plan_kpi_id` and `measure_ids` set where one plan KPI clearly matches.

    Match = Dice similarity of content characters >= `threshold`, units of the same kind (% or count), and a lead
    of at least `margin` over the best plan KPI with a different item. Plan KPIs with the same item (a KPI
    listed under two measures) count as one; the link goes to the first and carries all their measure ids.
    """
    out = []
    for kpi in kpis:
        scored = sorted(
            (
                (_similarity(kpi.name, p.item), n, p)
                for n, p in enumerate(plan_kpis)
                if None in (_percent(kpi.unit), _percent(p.unit)) or _percent(kpi.unit) == _percent(p.unit)
            ),
            key=lambda s: (-s[0], s[1]),
        )
        if not scored or scored[0][0] < threshold:
            out.append(kpi.model_copy())
            continue
        best = scored[0][2]
        same = [s[2] for s in scored if _chars(s[2].item) == _chars(best.item)]
        other = next((s[0] for s in scored if _chars(s[2].item) != _chars(best.item)), 0.0)
        if scored[0][0] - other < margin:
            out.append(kpi.model_copy())
            continue
        ids = list(dict.fromkeys(m for p in same for m in p.measure_ids))
        out.append(kpi.model_copy(update={"plan_kpi_id": best.kpi_id, "measure_ids": ids}))
    return out


def link_boxes_to_measures(boxes: list[ProgressKpi], measures: list[Measure]) -> list[ProgressKpi]:
    """A progress box that matches no plan KPI row is linked to the one measure of its goal whose name shares a
    run of at least 4 content characters with the box's name (議事録作成の削減時間 -> 議事録作成支援システムの運用).
    Ambiguous or weak matches stay unlinked: a wrong link is worse than none."""
    out = []
    for box in boxes:
        if box.measure_ids:
            out.append(box)
            continue
        scored = sorted(
            (
                (_common_run(box.name, m.name or ""), m.measure_id)
                for m in measures
                if m.goal == box.goal and m.name and not m.relisted
            ),
            reverse=True,
        )
        best = scored[0] if scored else (0, "")
        runner_up = scored[1][0] if len(scored) > 1 else 0
        if best[0] >= MIN_COMMON_RUN and best[0] > runner_up:
            box = box.model_copy(update={"measure_ids": [best[1]]})
        out.append(box)
    return out


MIN_COMMON_RUN = 4


def _common_run(a: str, b: str) -> int:
    """Longest shared run of content characters (hiragana and punctuation dropped: 「等による」 is not a topic)."""
    a, b = (re.sub(r"[\u3040-\u309f\W]", "", nfkc(x)) for x in (a, b))
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size
