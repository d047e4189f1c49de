"""KPI answers: a plan KPI's baseline and targets for the asked years, the report box's actual and status (the one
status rule, assistant/status.py), the plan joined with the report where both print the same KPI.
"""

from __future__ import annotations

from assistant.catalog import box_view, kpi_view
from assistant.draft import Draft, Evidence, abstain, fy_phrase, kpi_evidence, progress_evidence, shown
from assistant.intent import Intent
from assistant.knowledge import Knowledge, kpi_key
from assistant.status import box_status
from ingest.normalize import era_label, fiscal_year
from ingest.records import PlanKpi, ProgressKpi, Quantity

__all__ = ["answer_kpi", "plan_kpi_sentence", "progress_sentence", "kpis_for", "no_kpi"]


# --- KPIs ---------------------------------------------------------------------------------------------------
def _targets_text(kpi: PlanKpi, years: tuple[int, ...], final: bool) -> tuple[str, bool]:
    """Targets of the asked years, else all. Returns (text, every asked year found)."""
    labels = [era_label(y) for y in years]
    if final and kpi.targets:
        labels = [list(kpi.targets)[-1]]
    asked = [lab for lab in labels if lab in kpi.targets]
    if labels and not asked:
        return "", False
    show = asked or list(kpi.targets)
    parts = [f"{lab}（{fiscal_year(lab)}年度）{shown(kpi.targets[lab], kpi.unit)}" for lab in show]
    return "、".join(parts), True


def plan_kpi_sentence(kpi: PlanKpi, intent: Intent) -> tuple[str, bool]:
    # a KPI row printed for several measures names them as printed (「総3,4の指標」); each is cited by its number
    of = f"{kpi.measure_ref_raw}の指標" if len(kpi.measure_ids) > 1 and kpi.measure_ref_raw else ""
    notes = [x for x in (of, f"単位: {kpi.unit}" if kpi.unit else "") if x]
    unit = f"（{'、'.join(notes)}）" if notes else ""
    when = f"（{kpi.baseline_date_raw}時点）" if kpi.baseline_date_raw else ""
    base = f"現状値は{shown(kpi.baseline, kpi.unit)}{when}" if kpi.baseline else ""
    targets, ok = _targets_text(kpi, intent.years, intent.final_year)
    ref = "（※参考値）" if kpi.reference_value else ""
    if not ok:
        return "", False
    tail = f"目標値は{targets}です{ref}。"
    if intent.has("baseline") and not intent.has("target"):
        tail = f"（目標値: {targets}）{ref}。"
        return f"目標指標「{kpi.item}」{unit}の{base}{tail}", True
    return f"目標指標「{kpi.item}」{unit}の{base + '、' if base else ''}{tail}", True


def progress_sentence(p: ProgressKpi, title: str, verdict_first: bool = False) -> str:
    """The box's figures, the figure first and the document last; with `verdict_first` (a 「達成した？」 question)
    the 達成／未達 verdict leads."""
    parts = []
    if p.latest:
        parts.append(f"{p.latest_year_raw or ''}実績は{shown(p.latest, p.unit)}")
    if p.baseline:
        parts.append(f"基準値は{p.baseline_year_raw or ''}の{shown(p.baseline, p.unit)}")
    if p.target:
        parts.append(f"目標（{p.target_year_raw or ''}）は{shown(p.target, p.unit)}")
    s = f"「{p.name}」の" + "、".join(parts)
    if p.achievement_rate_raw:
        s += f"で、達成率は{p.achievement_rate_raw}"
    s += f"です（{title}）。"
    status = _status(p)
    if status:
        s = f"{status}{s}" if verdict_first else f"{s}{status}"
    if p.notes:
        s += "（" + "、".join(p.notes) + "）"
    return s


def _status(p: ProgressKpi) -> str:
    """The verdict sentence, from the one status rule (assistant/status.py)."""
    met = box_status(p).met
    if met is None:
        return ""
    when = f"{p.latest_year_raw or '最新'}時点"
    target = f"目標（{p.target_year_raw or ''}）の{shown(p.target, p.unit)}"
    if met:
        return f"達成: {when}で{target}に達しています。"
    return f"未達: {when}では{target}に達していません。"


def answer_kpi(
    k: Knowledge,
    plan_kpis: list[PlanKpi],
    boxes: list[ProgressKpi],
    intent: Intent,
    bullet: Draft | None = None,
) -> Draft:
    """The plan's figures and the report's box for the KPIs; `bullet` is the report's initiative that carries the
    actual when no box does (`assistant/join.py`), quoted in the box's place."""
    d = Draft()
    want_actual = intent.has("actual", "met", "report")
    # 「交付率は？」: the plan's figures and the latest actual; 「計画の現状値と比べると？」: both sides of the comparison
    show_boxes = want_actual or intent.has("figure", "change")
    want_plan = intent.has("target", "baseline", "kpi", "figure") or not want_actual
    plan_kpis = _distinct_kpis(plan_kpis)
    # a baseline asked of a plan KPI that prints none as a figure (「（実証事業）」): the report box's baseline
    show_boxes = show_boxes or (
        intent.has("baseline", "baseline_date")
        and any(x.baseline is None or x.baseline.value is None for x in plan_kpis)
    )
    missing_year = by_baseline = False
    for kpi in plan_kpis:
        d.kpis.append(kpi_view(k.catalog, kpi))
        if kpi.placeholder:
            d.lines.append(
                f"{kpi.measure_ref_raw}の目標指標は計画の表で（調整中）となっており、項目・目標値は記載されていません。"
            )
            d.evidence.append(kpi_evidence(kpi))
            d.answerable = False
            continue
        linked = k.progress_by_plan.get(kpi.kpi_id, [])
        boxes += [p for p in linked if p not in boxes]
        if want_plan or not linked:
            s, ok = plan_kpi_sentence(kpi, intent)
            base = "" if ok else _baseline_in_year(kpi, intent)  # 「R2は？」: the year of the plan's baseline
            if not ok and not base:
                missing_year = True
                continue
            d.lines.append(base or s)
            d.evidence.append(kpi_evidence(kpi))
            by_baseline = by_baseline or bool(base)
    n_plan = len(d.lines)
    if want_actual and not boxes and bullet is not None:
        d.lines += bullet.lines
        d.evidence += bullet.evidence
    elif want_actual and not boxes and plan_kpis and d.answerable and not by_baseline:
        reports = [x.title for x in k.catalog.documents if x.kind == "progress"]
        d.lines.append(f"{'・'.join(reports) or '実績報告'}には、この指標の実績値は記載されていません。")
        # the plan's figures asked with it are answered: only the actual part is missing, and said so
        d.answerable = bool(n_plan and intent.has("target", "baseline"))
    for p in boxes:
        d.kpis.append(box_view(p))
        if not show_boxes and plan_kpis:
            continue
        d.lines.append(progress_sentence(p, k.titles.get(p.doc_id, p.doc_id), intent.has("met")))
        d.evidence.append(progress_evidence(p))
        _check_year_and_status(d, p, intent)
        if intent.has("change") and _years_given(p, intent):  # 「R4より上がった？」: not from another year
            from assistant.facts import change_line

            change = change_line(p)
            if change:
                d.lines.insert(len(d.lines) - 1, change[0])
                d.derived.append(change[1])
        plan = k.kpi_by_id.get(p.plan_kpi_id or "")
        if plan and plan.baseline and p.baseline and plan.baseline.value != p.baseline.value:
            d.lines.append(
                f"なお、計画の現状値は{shown(plan.baseline, plan.unit)}"
                + (f"（{plan.baseline_date_raw}時点）" if plan.baseline_date_raw else "")
                + "で、"
                f"実績報告の基準値（{p.baseline_year_raw}: {shown(p.baseline, p.unit)}）と異なります。"
            )
            d.evidence.append(kpi_evidence(plan))
        if plan and intent.has("met"):
            _compare_with_plan(d, plan, p)
    if (
        want_actual and len(d.lines) > n_plan and (boxes or bullet is not None)
    ):  # the actual asked for comes first, the plan after
        d.lines = d.lines[n_plan:] + d.lines[:n_plan]
    if intent.claimed and d.answerable and d.lines:
        _confirm(d, plan_kpis, boxes, intent)
    if missing_year and not d.lines:
        years = "、".join(fy_phrase(y) for y in intent.years)
        labels = "、".join(plan_kpis[0].targets) if plan_kpis else ""
        d.lines.append(f"計画の目標値は{labels}の年度分のみで、{years}の目標値は記載されていません。")
        d.answerable = False
        d.evidence += [kpi_evidence(x) for x in plan_kpis]
    return d


def _baseline_in_year(kpi: PlanKpi, intent: Intent) -> str:
    """A figure asked of the year the plan's baseline is dated in (「R2.12時点」 for 「R2は？」), which has no target:
    the baseline answers it."""
    year = kpi.baseline_fiscal_year
    if not (kpi.baseline and kpi.baseline.value is not None and year in intent.years):
        return ""
    when = f"（{kpi.baseline_date_raw}時点）" if kpi.baseline_date_raw else ""
    return (
        f"目標指標「{kpi.item}」の{fy_phrase(year)}の値は、計画の現状値{shown(kpi.baseline, kpi.unit)}{when}です"
        f"（目標値は{'、'.join(kpi.targets)}の年度分）。"
    )


def _asked_figures(
    plan_kpis: list[PlanKpi], boxes: list[ProgressKpi], intent: Intent
) -> list[tuple[str, Quantity, str | None]]:
    """(label, figure, unit) of what a yes/no check asserts: the asked attribute's figures of the first KPI."""
    out: list[tuple[str, Quantity, str | None]] = []
    labels = [era_label(y) for y in intent.years]
    for kpi in plan_kpis[:1]:
        if intent.has("baseline") and kpi.baseline:
            out.append(("計画の現状値", kpi.baseline, kpi.unit))
        if intent.has("target") or not intent.has("baseline", "actual", "met", "figure"):
            last = list(kpi.targets)[-1:] if intent.final_year else []
            out += [
                (f"{lab}（{fiscal_year(lab)}年度）の目標値", q, kpi.unit)
                for lab, q in kpi.targets.items()
                if lab in (last or labels or kpi.targets)
            ]
    for p in boxes[:1]:
        if p.latest and (intent.has("actual", "met", "figure") or p.latest_year_raw in labels):
            out.append((f"{p.latest_year_raw or ''}実績", p.latest, p.unit))
        if p.target and intent.has("target") and not plan_kpis:
            out.append((f"目標（{p.target_year_raw or ''}）", p.target, p.unit))
        if p.baseline and intent.has("baseline") and not plan_kpis:
            out.append((f"基準値（{p.baseline_year_raw or ''}）", p.baseline, p.unit))
    return [x for x in out if x[1].value is not None]


def _confirm(d: Draft, plan_kpis: list[PlanKpi], boxes: list[ProgressKpi], intent: Intent) -> None:
    """「R6目標は35で合ってる？」: はい／いいえ first, from the asked figure as printed; the claimed figure, when
    denied, is the question's (`derived`)."""
    figures = _asked_figures(plan_kpis, boxes, intent)
    if not figures:
        return
    said = [
        (lab, q, u) for lab, q, u in figures if any(abs((q.value or 0) - c) < 1e-9 for c in intent.claimed)
    ]
    if said:
        d.lines.insert(0, "はい、" + "、".join(f"{lab}は{shown(q, u)}" for lab, q, u in said[:2]) + "です。")
        return
    claimed = "・".join(f"{c:g}" for c in intent.claimed)
    facts = "、".join(f"{lab}は{shown(q, u)}" for lab, q, u in figures[:4])
    d.lines.insert(0, f"いいえ、{facts}で、{claimed}ではありません。")
    d.derived += [f"{c:g}" for c in intent.claimed]


def _distinct_kpis(kpis: list[PlanKpi]) -> list[PlanKpi]:
    """The same KPI row printed under two measures is one KPI (both measure ids stay on the record)."""
    seen: set[str] = set()
    out = []
    for x in kpis:
        key = kpi_key(x)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _years_given(p: ProgressKpi, intent: Intent) -> bool:
    """Does the box print every year the question compares (its baseline's and its latest's)?"""
    printed = {fiscal_year(x or "") for x in (p.baseline_year_raw, p.latest_year_raw)}
    return all(y in printed for y in intent.years)


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
        f"計画の{lab}目標値{shown(target, plan.unit)}と比べると、{lab}実績{shown(p.latest, p.unit)}は目標を{verb}います。"
    )
    d.evidence.append(kpi_evidence(plan))


def kpis_for(k: Knowledge, mid: str) -> tuple[list[PlanKpi], list[ProgressKpi]]:
    plan = k.kpis_by_measure.get(mid, [])
    boxes = list(k.progress_by_measure.get(mid, []))
    return plan, boxes


def no_kpi(k: Knowledge, mid: str) -> Draft:
    """A measure the plan sets no KPI for: said so, citing the measure."""
    m = k.primary(mid)
    name = f"{mid}「{m.name}」" if m and m.name else mid
    d = abstain(f"{name}には計画上の目標指標（KPI）が設定されていないため、目標値・実績は資料にありません。")
    d.measures = []
    if m:
        quote = f"{m.measure_id} {m.name or ''}"
        d.evidence.append(Evidence(m.doc_id, m.line_start, m.line_end, quote, m.measure_id, m.goal or None))
    return d
