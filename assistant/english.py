"""English questions get an English lead for what comes from records: owners, start years, KPI figures, the status,
list sizes. Every name stays in its Japanese form as printed (the documents have no English names, and a reader can
find the Japanese form in them); every figure comes from the draft's records, so it passes the same verification.
The Japanese answer follows as the detail.
"""

from __future__ import annotations

from typing import Any

from assistant.draft import Draft
from assistant.intent import Intent
from ingest.normalize import fiscal_year

__all__ = ["english_lead", "latin_share"]


def _fy(label: str | None) -> str:
    year = fiscal_year(label or "")
    return f"{label} (FY{year})" if year else (label or "")


def _raw(q: Any) -> str:
    return str(q.get("raw", "")) if isinstance(q, dict) else ""


def _measure(m: dict[str, Any], intent: Intent) -> str | None:
    owners = m.get("owners") or []
    if not owners:
        return None
    who = "; ".join(f"{o['bureau']} {o['section']}" for o in owners)
    starts = ", ".join(_fy(o.get("start_year_raw")) for o in owners if o.get("start_year_raw"))
    name = f"{m['measure_id']} 「{m.get('name') or ''}」"
    if intent.has("start_year") and starts:
        return f"{name} started in {starts} (department in charge: {who})."
    return f"The department in charge of {name} is {who}" + (f" (start: {starts})." if starts else ".")


def _kpi(x: dict[str, Any]) -> str:
    if x.get("type") == "progress_kpi":
        parts = [f"KPI 「{x['name']}」 in the progress report"]
        if x.get("latest"):
            parts.append(f"actual {_fy(x.get('latest_year_raw'))}: {_raw(x['latest'])}")
        if x.get("target"):
            parts.append(f"target {_fy(x.get('target_year_raw'))}: {_raw(x['target'])}")
        if x.get("status"):
            parts.append(f"status: {x['status']}")
        return ", ".join(parts) + "."
    targets = ", ".join(f"{_fy(lab)} {_raw(q)}" for lab, q in (x.get("targets") or {}).items())
    date = f" (as of {x['baseline_date_raw']})" if x.get("baseline_date_raw") else ""
    base = f"baseline {_raw(x.get('baseline'))}{date}" if x.get("baseline") else ""
    return (
        f"Plan KPI 「{x['item']}」: "
        + "; ".join(b for b in (base, f"targets {targets}" if targets else "") if b)
        + "."
    )


def english_lead(d: Draft, intent: Intent) -> str:
    """One English sentence that leads the Japanese answer; a yes/no check's はい／いいえ leads it as Yes/No."""
    if not d.answerable:
        return "The documents do not say this (details in Japanese below)."
    verdict = {"はい": "Yes. ", "いいえ": "No. "}.get(d.lines[0].split("、", 1)[0] if d.lines else "", "")
    return verdict + _lead(d, intent)


def _lead(d: Draft, intent: Intent) -> str:
    if d.kpis and intent.has("target", "baseline", "kpi", "actual", "met", "figure", "change"):
        return " ".join(_kpi(x) for x in d.kpis[:2])
    # a list counts the numbers it cites, a number the plan prints with no row of its own too (「・企 16 （調整中）」)
    listed = len(
        {m.get("measure_id") for m in d.measures} | {e.measure_id for e in d.evidence if e.measure_id}
    )
    if len(d.measures) > 1 or (d.measures and listed > 1 and intent.has("list", "pending")):
        return f"{listed} measures (施策), listed below in Japanese:"
    if d.measures and intent.has("owner", "start_year", "claim"):
        lead = _measure(d.measures[0], intent)
        if lead:
            return lead
    return "From the documents (quoted in Japanese):"


def latin_share(q: str) -> float:
    """The share of the question's letters that are Latin: above one half, the question is English."""
    letters = [ch for ch in q if ch.isalpha()]
    return sum(ch.isascii() for ch in letters) / len(letters) if letters else 0.0
