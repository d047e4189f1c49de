"""Plan KPI -> report initiative: the report's bullet that carries a plan KPI's actual when no KPI box does.

The R5 report prints a box for 12 of the plan's KPIs; for others the year's figure sits in an initiative bullet
(a plan KPI 「…会議実施回数」 -> a report bullet 「…会議の推進（実施N回…）」). A bullet is
joined to a KPI only when all three hold:

- the linker finds the KPI's item in the bullet (`JOIN_LINK`: the IDF-weighted name and word overlap of
  `assistant/linker.py`),
- half of the item's words are in the bullet (`JOIN_COVER`), so a bullet sharing only the subject is not taken
  (「セルフチェックにおける理解度・遵守度の平均」 is not the bullet's 実施率),
- the bullet prints a figure in the KPI's counter (the groups of `vocab/counters.toml`), so a share is never
  answered with a head count (a share in ％ is not a count of person-days).

A joined bullet is a different record from the KPI: the answer quotes it as printed and computes no 達成／未達.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from assistant.knowledge import Knowledge
from assistant.linker import Linker
from assistant.verify import holds_figure_in
from ingest.records import PlanKpi

__all__ = ["initiative_for", "report_bullet_for", "JOIN_LINK", "JOIN_COVER"]

JOIN_LINK = 0.45
JOIN_COVER = 0.45


# the join depends on the index only: worked out once per index (its Knowledge) and KPI
_JOINED: WeakKeyDictionary[Knowledge, dict[str, str | None]] = WeakKeyDictionary()


def initiative_for(kpi: PlanKpi, linker: Linker, k: Knowledge) -> str | None:
    """The record ref of the report initiative that carries `kpi`'s actual, or None."""
    joined = _JOINED.setdefault(k, {})
    if kpi.kpi_id not in joined:
        joined[kpi.kpi_id] = _join(kpi, linker, k)
    return joined[kpi.kpi_id]


def _join(kpi: PlanKpi, linker: Linker, k: Knowledge) -> str | None:
    if not kpi.unit or kpi.placeholder:
        return None
    for link in linker.link(kpi.item, kinds=("initiative",), top=3):
        if link.score < JOIN_LINK:
            break
        body = link.entity.text
        if k.coverage(kpi.item, body) >= JOIN_COVER and holds_figure_in(body, kpi.unit):
            return link.entity.ref
    return None


def report_bullet_for(name: str, linker: Linker, k: Knowledge, named: float) -> str | None:
    """The record ref of the report's bullet or box on the measure named `name`: one that names it
    (「○○の運用（…）」 for 「○○の運用」), or reports on it in its own words as the KPI join does (「○○システムの
    再構築（…稼働開始）」 for 「○○業務システムの構築」). `named` is the share
    of a record's name that names it (`subjects.LINK_NAME`)."""
    links = linker.link(name, kinds=("initiative", "progress_kpi"), top=1)
    if links and (
        links[0].name >= named
        or (links[0].score >= JOIN_LINK and k.coverage(name, links[0].entity.text) >= JOIN_COVER)
    ):
        return links[0].entity.ref
    return None
