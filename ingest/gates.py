"""Sanity gates a new catalog passes before `CURRENT` may name its index.

Three checks, each naming the document and what is wrong:
- `missing`: every document yields the records its kind must have (a plan: measures and KPIs; a progress report:
  KPI boxes or initiatives, and its totals). Always fatal.
- `repeats`: a document whose records repeat (the same KPI box or initiative twice, as when a report is pasted
  twice into its file). Fatal unless the operator accepts the changes.
- `shrinks`: a kind of record whose count falls by more than `max_shrink` against the serving index. Fatal unless
  the operator accepts the changes.
`stated_counts` reads the counts the documents state about themselves (e.g. a plan's 「主な個別施策計 N」 and
「目標指標（ＫＰＩ）（計 N）」), so the ingest summary can print them beside the parsed ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ingest.corpus import SourceDocument
from ingest.errors import GateError
from ingest.normalize import nfkc
from ingest.records import Catalog

__all__ = ["check", "missing", "repeats", "shrinks", "stated_counts", "GATED_COUNTS", "STATED_PATTERNS"]

# summary keys whose shrink against the serving index stops an ingest
GATED_COUNTS = (
    "documents",
    "measure_listings",
    "kpis",
    "sections",
    "glossary_terms",
    "initiatives",
    "progress_kpi_boxes",
)
# summary key -> how a plan states that count in its own text (NFKC-normalised); the number is read, not known
STATED_PATTERNS: dict[str, tuple[str, re.Pattern[str]]] = {
    "measure_listings": ("plan", re.compile(r"主な個別施策計\s*(\d+)")),
    "measures_distinct": ("plan", re.compile(r"実数計\s*(\d+)")),
    "measures_relisted": ("plan", re.compile(r"再掲計\s*(\d+)")),
    "kpis": ("plan", re.compile(r"KPI\)?\s*\(?\s*計\s*(\d+)")),
}


def _problems(cat: Catalog, summary: dict[str, int], serving: dict[str, int], max_shrink: float) -> list[str]:
    return repeats(cat) + shrinks(summary, serving, max_shrink)


def check(
    cat: Catalog,
    summary: dict[str, int],
    serving: dict[str, int],
    current: Path | None,
    accept_changes: bool,
    max_shrink: float,
) -> None:
    """Raise GateError when the new catalog must not replace the serving index."""
    keeps = f"the serving index {current} stays" if current is not None else "no index was written"
    lacking = missing(cat)
    if lacking:
        raise GateError(f"ingest stopped ({keeps}): {'; '.join(lacking)}")
    problems = _problems(cat, summary, serving, max_shrink)
    if problems and not accept_changes:
        raise GateError(
            f"ingest stopped ({keeps}): {'; '.join(problems)}; fix the corpus, or re-run with "
            "--accept-changes if this change is intended"
        )


def missing(cat: Catalog) -> list[str]:
    """Documents that lack the records their kind must have, as readable problems."""
    out = []
    for doc in cat.documents:
        n = _count_by_doc(cat, doc.doc_id)
        if doc.kind == "plan":
            lack = [what for what, key in (("measures", "measures"), ("KPIs", "kpis")) if not n[key]]
        else:
            lack = [] if n["progress_kpis"] or n["initiatives"] else ["KPI boxes or initiatives"]
            lack += [] if n["totals"] else ["totals (事業数・金額)"]
        if lack:
            out.append(
                f"{doc.doc_id} ({doc.file}) yields no {' and no '.join(lack)}; a {doc.kind} document must have "
                "them: check that the file holds the whole document as UTF-8 text"
            )
    return out


def repeats(cat: Catalog) -> list[str]:
    """Records that occur twice within one document (a document pasted twice into its file)."""
    keyed: list[tuple[str, str, Iterable[tuple]]] = [
        ("KPI box", "progress_kpis", ((b.doc_id, b.goal, b.name) for b in cat.progress_kpis)),
        ("initiative", "initiatives", ((i.doc_id, i.goal, i.text) for i in cat.initiatives)),
        ("plan KPI", "kpis", ((k.doc_id, k.measure_ref_raw, k.item) for k in cat.kpis if not k.placeholder)),
        (
            "measure listing",
            "measures",
            ((m.doc_id, m.goal, m.measure_id) for m in cat.measures if not m.placeholder),
        ),
    ]
    out = []
    for label, _, keys in keyed:
        twice = [k for k, c in Counter(keys).items() if c > 1]
        if twice:
            doc_id, *_rest, name = twice[0]
            out.append(
                f"{doc_id}: {len(twice)} {label}s occur twice or more (first: {name!r}); "
                "is the document pasted twice into its file?"
            )
    return out


def shrinks(new: dict[str, int], serving: dict[str, int], max_shrink: float) -> list[str]:
    """Kinds of record whose count falls by more than `max_shrink` (a share, 0.3 = 30%) against `serving`."""
    out = []
    for key in GATED_COUNTS:
        old, now = serving.get(key, 0), new.get(key, 0)
        if old > 0 and (old - now) / old > max_shrink:
            out.append(
                f"{key} falls from {old} to {now} (-{(old - now) / old:.0%}, limit -{max_shrink:.0%}) "
                "against the serving index"
            )
    return out


def stated_counts(sources: list[SourceDocument]) -> dict[str, int]:
    """The counts the documents state about themselves, keyed like `catalog_summary` (summed over documents)."""
    out: dict[str, int] = {}
    for src in sources:
        text = nfkc("\n".join(src.lines))
        for key, (kind, pattern) in STATED_PATTERNS.items():
            m = pattern.search(text) if src.document.kind == kind else None
            if m:
                out[key] = out.get(key, 0) + int(m.group(1))
    return out


def _count_by_doc(cat: Catalog, doc_id: str) -> dict[str, int]:
    return {
        "measures": sum(1 for m in cat.measures if m.doc_id == doc_id),
        "kpis": sum(1 for k in cat.kpis if k.doc_id == doc_id),
        "progress_kpis": sum(1 for b in cat.progress_kpis if b.doc_id == doc_id),
        "initiatives": sum(1 for i in cat.initiatives if i.doc_id == doc_id),
        "totals": sum(1 for t in cat.totals if t.doc_id == doc_id),
    }
