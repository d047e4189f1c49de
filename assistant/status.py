"""The one KPI status rule (達成 / 未達 / 実績未公表 / 目標なし / 判定不可), used by the chat, `GET /kpis` and the UI.

A progress-report box decides for itself: its printed 達成率 where the report prints one (>= 100% is 達成), else
the ratio of its latest actual to its own target, read in the KPI's direction (a target below the baseline means
fewer is better: incidents, hours lost). A plan KPI takes the verdict of the report box linked to it; with no box,
it has a target but no actual yet (実績未公表), or no target at all (目標なし: a （調整中） row). Nothing here knows
a fact of the corpus: every figure comes from the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ingest.records import PlanKpi, ProgressKpi, Quantity

__all__ = ["Status", "Verdict", "box_status", "plan_status"]


class Status(StrEnum):
    MET = "達成"
    NOT_MET = "未達"
    NO_ACTUAL = "実績未公表"
    NO_TARGET = "目標なし"
    UNDETERMINED = "判定不可"  # a target that is not a number (「前年度越え」)


@dataclass(frozen=True)
class Verdict:
    """A KPI's status and the figures it rests on (all as printed)."""

    status: Status
    actual: Quantity | None = None
    actual_year_raw: str | None = None
    target: Quantity | None = None
    target_year_raw: str | None = None
    rate_raw: str | None = None  # the printed 達成率, when the report prints one
    lower_is_better: bool = False
    basis: str = ""  # "printed_rate" | "ratio" | "" (no comparison made)

    @property
    def met(self) -> bool | None:
        return {Status.MET: True, Status.NOT_MET: False}.get(self.status)

    def payload(self) -> dict[str, object]:
        """The JSON form the API sends (`status` plus what it was computed from)."""
        return {
            "status": self.status.value,
            "status_basis": self.basis,
            "lower_is_better": self.lower_is_better,
        }


def _v(q: Quantity | None) -> float | None:
    return q.value if q is not None else None


def _lower_is_better(baseline: Quantity | None, target: Quantity | None) -> bool:
    b, t = _v(baseline), _v(target)
    return b is not None and t is not None and t < b


def box_status(p: ProgressKpi) -> Verdict:
    """The verdict of one progress-report KPI box."""
    lower = _lower_is_better(p.baseline, p.target)
    common = dict(
        actual=p.latest,
        actual_year_raw=p.latest_year_raw,
        target=p.target,
        target_year_raw=p.target_year_raw,
        rate_raw=p.achievement_rate_raw,
        lower_is_better=lower,
    )
    if _v(p.latest) is None:
        return Verdict(Status.NO_ACTUAL if p.target else Status.NO_TARGET, **common)  # type: ignore[arg-type]
    if p.achievement_rate_raw:
        m = re.search(r"\d+(?:\.\d+)?", p.achievement_rate_raw)
        if m:
            ok = float(m.group(0)) >= 100
            return Verdict(Status.MET if ok else Status.NOT_MET, basis="printed_rate", **common)  # type: ignore[arg-type]
    actual, target = _v(p.latest), _v(p.target)
    if target is None or actual is None:
        return Verdict(Status.UNDETERMINED if p.target else Status.NO_TARGET, **common)  # type: ignore[arg-type]
    ok = actual <= target if lower else actual >= target
    return Verdict(Status.MET if ok else Status.NOT_MET, basis="ratio", **common)  # type: ignore[arg-type]


def plan_status(kpi: PlanKpi, boxes: list[ProgressKpi]) -> Verdict:
    """The verdict of a plan KPI: its linked report box decides; without one, no actual has been published."""
    linked = [b for b in boxes if b.plan_kpi_id == kpi.kpi_id]
    if linked:
        return box_status(linked[0])
    numeric = [q for q in kpi.targets.values() if q.value is not None]
    if kpi.placeholder or not numeric:
        return Verdict(Status.NO_TARGET)
    last = list(kpi.targets)[-1]
    return Verdict(
        Status.NO_ACTUAL,
        target=kpi.targets[last],
        target_year_raw=last,
        lower_is_better=_lower_is_better(kpi.baseline, kpi.targets[last]),
    )
