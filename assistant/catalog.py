"""Catalog views for the API: JSON-ready dicts of measures (施策), KPIs (目標指標), documents and health.

One entry per distinct measure id: the listings of a measure (再掲 included) are merged. `UnknownMeasure` is
the domain error for an id that is not in the catalog; the API layer turns it into a 404.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from assistant.status import box_status, plan_status
from ingest.normalize import nfkc, normalize_measure_id
from ingest.records import Catalog, Measure, PlanKpi, ProgressKpi

__all__ = [
    "UnknownMeasure",
    "document_list",
    "find_measures",
    "health_view",
    "measure_detail",
    "plan_kpis",
    "kpi_view",
    "box_view",
]


class UnknownMeasure(LookupError):
    """A measure id that is not in the catalog; carries the close ids and the ids sharing its prefix."""

    def __init__(self, given: str, known: Iterable[str]) -> None:
        self.given = normalize_measure_id(given)
        known = sorted(set(known), key=_id_key)
        self.close = difflib.get_close_matches(self.given, known, n=5, cutoff=0.5)
        prefix = _prefix(self.given)
        self.same_prefix = [k for k in known if prefix and _prefix(k) == prefix]
        hint = f"close ids: {', '.join(self.close)}" if self.close else "no close id"
        if self.same_prefix:
            hint += f"; ids starting with {prefix}: {_ranges(self.same_prefix)}"
        label = self.given or "an empty id"
        super().__init__(f"{label} is not a measure in this corpus; {hint}; GET /measures lists them all")

    def payload(self) -> dict[str, Any]:
        return {
            "message": str(self),
            "measure_id": self.given,
            "close": self.close,
            "same_prefix": self.same_prefix,
        }


def _prefix(mid: str) -> str:
    return re.sub(r"\d+$", "", mid)


def _id_key(mid: str) -> tuple[str, int]:
    m = re.search(r"(\d+)$", mid)
    return (_prefix(mid), int(m.group(1)) if m else -1)


def _ranges(ids: list[str]) -> str:
    """[企1, 企2, 企3, 企5] -> '企1-企3, 企5'."""
    out: list[list[str]] = []
    for mid in ids:
        if out and _id_key(mid)[1] == _id_key(out[-1][-1])[1] + 1:
            out[-1].append(mid)
        else:
            out.append([mid])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in out)


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text)).casefold()


def _listings(cat: Catalog) -> dict[str, list[Measure]]:
    by_id: dict[str, list[Measure]] = {}
    for m in cat.measures:
        by_id.setdefault(m.measure_id, []).append(m)
    return by_id


def _merged(listings: list[Measure]) -> dict[str, Any]:
    main = next((m for m in listings if not m.relisted and not m.placeholder), listings[0])
    owners: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for m in listings:
        for o in m.owners:
            owners.setdefault((o.bureau, o.section, o.start_year_raw), o.model_dump(mode="json"))
    return {
        "measure_id": main.measure_id,
        "doc_id": main.doc_id,
        "name": main.name or next((m.name for m in listings if m.name), None),
        "overview": main.overview or next((m.overview for m in listings if m.overview), ""),
        "owners": list(owners.values()),
        "goal": main.goal,
        "goals": list(dict.fromkeys(m.goal for m in listings if m.goal)),
        "kpi_mark": any(m.kpi_mark for m in listings),
        "placeholder": all(m.placeholder for m in listings),
        "relisted_listings": sum(m.relisted for m in listings),
        "listings": [
            {
                "doc_id": m.doc_id,
                "goal": m.goal,
                "section_path": m.section_path,
                "relisted": m.relisted,
                "kpi_mark": m.kpi_mark,
                "placeholder": m.placeholder,
                "line_start": m.line_start,
                "line_end": m.line_end,
                "location": f"L{m.line_start}-{m.line_end}",
            }
            for m in listings
        ],
    }


def find_measures(
    cat: Catalog, *, goal: str | None = None, department: str | None = None, text: str | None = None
) -> list[dict[str, Any]]:
    """Merged measures whose goals / owners / id+name+overview contain the given substrings (NFKC)."""
    out = []
    for listings in _listings(cat).values():
        merged = _merged(listings)
        owners = " ".join(f"{o['bureau']}{o['section']}" for o in merged["owners"])
        hay = {
            "goal": " ".join(merged["goals"]),
            "department": owners,
            "text": " ".join([merged["measure_id"], merged["name"] or "", merged["overview"], owners]),
        }
        wanted = {"goal": goal, "department": department, "text": text}
        if all(not w or not _fold(w) or _fold(w) in _fold(hay[k]) for k, w in wanted.items()):
            out.append(merged)
    return out


def kpi_view(cat: Catalog, kpi: PlanKpi) -> dict[str, Any]:
    """A plan KPI as the API sends it: the record, its linked report boxes and its status (assistant/status.py)."""
    linked = [p for p in cat.progress_kpis if p.plan_kpi_id == kpi.kpi_id]
    return (
        kpi.model_dump(mode="json")
        | {
            "type": "plan_kpi",
            "location": f"L{kpi.line_start}-{kpi.line_end}",
            "progress": [box_view(p) for p in linked],
        }
        | plan_status(kpi, linked).payload()
    )


def box_view(p: ProgressKpi) -> dict[str, Any]:
    """A progress KPI box as the API sends it, with its status."""
    return (
        p.model_dump(mode="json")
        | {"type": "progress_kpi", "location": f"L{p.line_start}-{p.line_end}"}
        | box_status(p).payload()
    )


def _known_ids(cat: Catalog) -> set[str]:
    return {m.measure_id for m in cat.measures} | {mid for k in cat.kpis for mid in k.measure_ids}


def measure_detail(cat: Catalog, measure_id: str) -> dict[str, Any]:
    mid = normalize_measure_id(measure_id)
    listings = _listings(cat).get(mid)
    if not listings:
        raise UnknownMeasure(mid, {m.measure_id for m in cat.measures})
    kpis = [k for k in cat.kpis if mid in k.measure_ids]
    kpi_ids = {k.kpi_id for k in kpis}
    progress = [
        box_view(p)
        for p in cat.progress_kpis
        if mid in p.measure_ids or (p.plan_kpi_id and p.plan_kpi_id in kpi_ids)
    ]
    return _merged(listings) | {"kpis": [kpi_view(cat, k) for k in kpis], "progress_kpis": progress}


def plan_kpis(cat: Catalog, measure: str | None = None) -> list[dict[str, Any]]:
    unlinked = [p for p in cat.progress_kpis if not p.plan_kpi_id]
    if measure is None or not normalize_measure_id(measure):
        return [kpi_view(cat, k) for k in cat.kpis] + [box_view(p) for p in unlinked]
    mid = normalize_measure_id(measure)
    if mid not in _known_ids(cat):
        raise UnknownMeasure(mid, _known_ids(cat))
    return [kpi_view(cat, k) for k in cat.kpis if mid in k.measure_ids] + [
        box_view(p) for p in unlinked if mid in p.measure_ids
    ]


def document_list(cat: Catalog) -> list[dict[str, Any]]:
    return [
        d.model_dump(
            mode="json", include={"doc_id", "title", "kind", "period", "fiscal_year", "as_of", "line_count"}
        )
        for d in cat.documents
    ]


def health_view(cat: Catalog, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "ok",
        "documents": len(cat.documents),
        "measures": len(cat.measures),
        "measures_distinct": len({m.measure_id for m in cat.measures}),
        "kpis": len(cat.kpis),
        "progress_kpis": len(cat.progress_kpis),
        "chunks": meta.get("chunks", 0),
        "index": {"id": meta.get("index_id"), "versions": meta.get("versions", {})},
    }
