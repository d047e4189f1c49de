"""KPI data as the UI shows it: chart points, the API's status with its printed figures, and table rows.

Works on the JSON dicts the API returns: plan KPIs (`PlanKpi`: item, baseline, baseline_date_raw, targets
{"R3": Quantity, ...}, optionally "progress": [linked boxes]) and progress-report KPI boxes (`ProgressKpi`:
name, baseline, baseline_year_raw, latest, latest_year_raw, target, target_year_raw). Every figure and year
comes from those records; the status is the API's `status` field (one rule, assistant/status.py), never
decided here; nothing about the corpus is known here.
"""

from __future__ import annotations

from typing import Any

from ingest.normalize import era_label, fiscal_year

__all__ = [
    "BASELINE",
    "TARGET",
    "ACTUAL",
    "STATUS_MET",
    "STATUS_NOT_MET",
    "STATUS_NO_ACTUAL",
    "STATUS_NO_TARGET",
    "STATUS_UNDETERMINED",
    "STATUS_LABELS",
    "STATUS_UNKNOWN",
    "with_unit",
    "is_progress_kpi",
    "kpi_title",
    "kpi_unit",
    "group_kpis",
    "kpi_points",
    "kpi_verdict",
    "status_map",
    "fill_status",
    "kpi_row",
    "year_label",
]

BASELINE = "基準値"
TARGET = "目標値"
ACTUAL = "実績値"
# The labels of the API's `status` field (assistant/status.py), in the order the KPI page counts them.
STATUS_MET = "達成"
STATUS_NOT_MET = "未達"
STATUS_NO_ACTUAL = "実績未公表"
STATUS_NO_TARGET = "目標なし"
STATUS_UNDETERMINED = "判定不可"
STATUS_LABELS = (STATUS_MET, STATUS_NOT_MET, STATUS_NO_ACTUAL, STATUS_NO_TARGET, STATUS_UNDETERMINED)
STATUS_UNKNOWN = "不明"  # an entry without `status` (an older API)

Kpi = dict[str, Any]
Point = dict[str, Any]


def is_progress_kpi(kpi: Kpi) -> bool:
    """True for a progress-report KPI box, False for a plan KPI row."""
    if kpi.get("type"):
        return kpi["type"] == "progress_kpi"
    return "latest" in kpi or "item" not in kpi


def kpi_title(kpi: Kpi) -> str:
    return str(kpi.get("item") or kpi.get("name") or kpi.get("kpi_id") or "")


def kpi_unit(kpi: Kpi, progress: list[Kpi] | None = None) -> str:
    for k in [kpi, *(progress or [])]:
        if k.get("unit"):
            return str(k["unit"])
        for q in (k.get("baseline"), k.get("latest"), k.get("target")):
            if isinstance(q, dict) and q.get("unit"):
                return str(q["unit"])
    return ""


def year_label(year: int) -> str:
    """`2023` -> `R5（2023）`."""
    return f"{era_label(year)}（{year}）"


def group_kpis(kpis: list[Kpi]) -> list[tuple[Kpi, list[Kpi]]]:
    """Pair each plan KPI with its progress boxes (its own "progress" list or boxes whose `plan_kpi_id`
    equals its `kpi_id`), so both are drawn in one chart; a progress box no plan KPI in `kpis` claims
    stands alone as `(box, [])`. A box listed twice (same `kpi_id`) is kept once."""
    plans = [k for k in kpis if not is_progress_kpi(k)]
    boxes = _distinct([k for k in kpis if is_progress_kpi(k)])
    claimed: set[int] = set()
    groups: list[tuple[Kpi, list[Kpi]]] = []
    for plan in plans:
        linked = list(plan.get("progress") or [])
        pid = plan.get("kpi_id")
        for i, b in enumerate(boxes):
            if pid and b.get("plan_kpi_id") == pid:
                claimed.add(i)
                linked.append(b)
        groups.append((plan, _distinct(linked)))
    groups += [(b, []) for i, b in enumerate(boxes) if i not in claimed]
    return groups


def _distinct(boxes: list[Kpi]) -> list[Kpi]:
    seen: set[str] = set()
    out: list[Kpi] = []
    for b in boxes:
        key = str(b.get("kpi_id") or "") or str(id(b))
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


def _value(q: Any) -> float | None:
    if isinstance(q, dict) and isinstance(q.get("value"), int | float):
        return float(q["value"])
    return None


def _point(year: int | None, kind: str, q: Any, source: str) -> Point | None:
    value = _value(q)
    if year is None or value is None:
        return None
    return {
        "年度": year,
        "年度表示": year_label(year),
        "区分": kind,
        "値": value,
        "表示値": str(q.get("raw") or value),
        "出典": source,
    }


def kpi_points(kpi: Kpi, progress: list[Kpi] | None = None) -> list[Point]:
    """Chart points for one KPI: baseline, targets and actuals on a Western fiscal-year axis, sorted."""
    candidates: list[Point | None] = []
    for box in ([kpi] if is_progress_kpi(kpi) else []) + list(progress or []):
        candidates += [
            _point(fiscal_year(box.get("baseline_year_raw")), BASELINE, box.get("baseline"), "進捗報告"),
            _point(fiscal_year(box.get("latest_year_raw")), ACTUAL, box.get("latest"), "進捗報告"),
            _point(fiscal_year(box.get("target_year_raw")), TARGET, box.get("target"), "進捗報告"),
        ]
    if not is_progress_kpi(kpi):
        base_year = kpi.get("baseline_fiscal_year") or fiscal_year(kpi.get("baseline_date_raw"))
        plan_points = [_point(base_year, BASELINE, kpi.get("baseline"), "計画")]
        plan_points += [
            _point(fiscal_year(k), TARGET, q, "計画") for k, q in (kpi.get("targets") or {}).items()
        ]
        candidates = plan_points + candidates
    out: list[Point] = []
    for p in candidates:
        if p is None:
            continue
        if any(o["年度"] == p["年度"] and o["区分"] == p["区分"] and o["値"] == p["値"] for o in out):
            continue  # the same figure printed in both documents
        out.append(p)
    return sorted(out, key=lambda p: (p["年度"], [BASELINE, TARGET, ACTUAL].index(p["区分"])))


def with_unit(raw: Any, unit: str) -> str:
    """A printed figure with its unit: `1,731` + 箇所 -> `1,731箇所`; `160者` stays as printed."""
    text = str(raw or "").strip()
    if text and unit and text[-1:].isdigit():
        return f"{text}{unit}"
    return text


def _box_of(kpi: Kpi, progress: list[Kpi]) -> Kpi | None:
    return kpi if is_progress_kpi(kpi) else next(iter(progress), None)


def kpi_verdict(kpi: Kpi, progress: list[Kpi] | None = None) -> tuple[str, str]:
    """(status, figures): the status the API computed (`status` field; the UI never decides it) and the
    printed figures it rests on, with units, e.g. ("達成", "R5実績 160者 ／ R6目標 100者 ／ 達成率 138%")."""
    status = str(kpi.get("status") or STATUS_UNKNOWN)
    unit = kpi_unit(kpi, progress)
    box = _box_of(kpi, list(progress or []))
    parts: list[str] = []
    if box is not None and isinstance(box.get("latest"), dict):
        parts.append(f"{box.get('latest_year_raw') or ''}実績 {with_unit(box['latest'].get('raw'), unit)}")
    if box is not None and isinstance(box.get("target"), dict):
        parts.append(f"{box.get('target_year_raw') or ''}目標 {with_unit(box['target'].get('raw'), unit)}")
    elif not is_progress_kpi(kpi):
        numeric = [(y, q) for y, q in (kpi.get("targets") or {}).items() if _value(q) is not None]
        if numeric:
            year, q = numeric[-1]
            parts.append(f"{year}目標 {with_unit(q.get('raw'), unit)}（計画）")
    if box is not None and box.get("achievement_rate_raw"):
        parts.append(f"達成率 {box['achievement_rate_raw']}")
    return status, " ／ ".join(parts)


def kpi_row(kpi: Kpi, progress: list[Kpi] | None = None) -> dict[str, str]:
    """One row of the KPI一覧 table (all cells are strings, shown as text)."""
    progress = list(progress or [])
    boxes = ([kpi] if is_progress_kpi(kpi) else []) + progress
    status, why = kpi_verdict(kpi, progress)
    points = kpi_points(kpi, progress)
    base = next((p for p in points if p["区分"] == BASELINE), None)
    latest = max((p for p in points if p["区分"] == ACTUAL), key=lambda p: p["年度"], default=None)
    sources = {p["出典"] for p in points if p["区分"] == TARGET}
    targets = [
        f"{era_label(p['年度'])}" + (f"（{p['出典']}）" if len(sources) > 1 else "") + f": {p['表示値']}"
        for p in points
        if p["区分"] == TARGET
    ]
    ids = kpi.get("measure_ids") or sorted({m for b in boxes for m in b.get("measure_ids") or []})
    return {
        "施策": "、".join(ids),
        "指標": kpi_title(kpi),
        "状況": status,
        "最新実績": f"{latest['表示値']}（{era_label(latest['年度'])}）" if latest else "",
        "単位": kpi_unit(kpi, progress),
        "達成率（報告書）": "、".join(
            str(b["achievement_rate_raw"]) for b in boxes if b.get("achievement_rate_raw")
        ),
        "根拠": why,
        "基準値": f"{base['表示値']}（{era_label(base['年度'])}）" if base else "",
        "目標": "、".join(targets),
        "資料": "計画＋進捗報告"
        if (boxes and not is_progress_kpi(kpi))
        else ("進捗報告" if boxes else "計画"),
    }


def status_map(entries: list[Kpi]) -> dict[str, str]:
    """kpi_id -> the API's `status`, from `GET /kpis` entries and the boxes linked to them."""
    out: dict[str, str] = {}
    for k in entries:
        for e in [k, *(k.get("progress") or [])]:
            if e.get("kpi_id") and e.get("status"):
                out[str(e["kpi_id"])] = str(e["status"])
    return out


def fill_status(kpis: list[Kpi], statuses: dict[str, str]) -> list[Kpi]:
    """`kpis` (e.g. of an /ask response) where an entry without `status` takes the one `GET /kpis` gives
    for the same `kpi_id`; an entry that carries `status` keeps it."""
    out = []
    for k in kpis:
        if not k.get("status") and statuses.get(str(k.get("kpi_id"))):
            k = k | {"status": statuses[str(k["kpi_id"])]}
        if k.get("progress"):
            k = k | {"progress": fill_status(list(k["progress"]), statuses)}
        out.append(k)
    return out
