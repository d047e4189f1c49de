"""Questions about a set of records rather than one: 「R5で目標を達成したKPIは？」「重点目標③のKPI」
「○○課のKPI」「新規の取組は？」「重点目標①の取組状況」.

The set is chosen by what the question names (a goal, a department or bureau, met / not met, 新規), all of it
vocabulary read from the catalog; each listed item cites its own record.
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.answer import answer_list
from assistant.catalog import box_view, kpi_view
from assistant.draft import Draft, Evidence, kpi_evidence, progress_evidence, shown
from assistant.intent import Intent
from assistant.knowledge import Knowledge
from assistant.status import box_status
from ingest.normalize import MEASURE_ID_RE, nfkc, normalize_measure_id
from ingest.records import Catalog, Initiative, PlanKpi, ProgressKpi
from ingest.tokenize import content_tokens, predicates, tokenize

__all__ = ["answer_aggregate", "answer_pending", "met"]

_KPI_WORD = re.compile(r"KPI|指標|indicators?", re.IGNORECASE)
_INITIATIVE_WORD = re.compile(r"取組|取り組み|主要取組|initiatives?", re.IGNORECASE)
_NOT_MET = re.compile(
    r"届いていない|届かなかった|未達|達成していない|達成できていない|下回|not (?:yet )?met|missed",
    re.IGNORECASE,
)
_MET = re.compile(r"達成した|達成している|達成済|届いた|上回|クリア|\bmet\b|achieved|reached", re.IGNORECASE)
# the plan's 「再」 mark: a measure printed again under another goal (「再掲の施策は？」「重複して載っている施策を全部」)
_RELISTED = re.compile(
    r"再掲|重複して(?:載|掲載|記載)|listed (?:more than once|twice|again)|re-?listed", re.IGNORECASE
)
_RATE_WORD = re.compile(r"達成率|達成度|achievement rate", re.IGNORECASE)
_LOW = re.compile(r"低|少|悪|最低|ワースト|lowest|worst", re.IGNORECASE)
MAX_ITEMS = 30


def met(p: ProgressKpi) -> bool | None:
    """Has the box reached its target? The one status rule (assistant/status.py); None when it cannot tell."""
    return box_status(p).met


def answer_aggregate(q: str, intent: Intent, k: Knowledge, topic: frozenset[str]) -> Draft | None:
    """A list answer when the question asks for a set and names no single topic (`topic`: the question's words
    beyond question, goal, department and set words). What is new is listed by topic too: 「新しくWi-Fiが入った
    施設は？」 lists the new items about Wi-Fi, and none when the topic is only in items that are not new."""
    if intent.has("rank") and _RATE_WORD.search(q) and _KPI_WORD.search(q):
        return _ranked(q, k)
    if intent.has("list") and _RELISTED.search(
        q
    ):  # the measures printed again (「再」), each with its first page
        again = {m.measure_id for m in k.catalog.measures if m.relisted}
        listed = [m for m in k.catalog.measures if m.measure_id in again and not m.relisted]
        return answer_list(k, "計画で再掲（「再」）されている施策", listed) if listed else None
    if topic and not intent.has("new"):
        return None
    goals = k.goal_hits(q)
    deps = k.department_hits(q) or k.mentioned(q, k.bureaus)
    if (_INITIATIVE_WORD.search(q) or intent.has("new")) and not _KPI_WORD.search(q):
        return _initiatives(q, intent, k, goals, topic)
    if topic:
        return None
    if not _KPI_WORD.search(q):
        return None
    boxes = list(k.catalog.progress_kpis)
    plans = [x for x in k.catalog.kpis if not x.placeholder]
    if goals:
        boxes = [p for p in boxes if p.goal in goals]
        plans = [x for x in plans if x.goal in goals]
    if deps:
        owned = {
            m.measure_id
            for m in k.catalog.measures
            if any(o.section in deps or o.bureau in deps for o in m.owners)
        }
        boxes = [p for p in boxes if set(p.measure_ids) & owned]
        plans = [x for x in plans if set(x.measure_ids) & owned]
    scope = "・".join(goals or deps) or "資料全体"
    if _NOT_MET.search(q) or _MET.search(q) or intent.has("met"):
        want = not _NOT_MET.search(q)
        chosen = [p for p in boxes if met(p) is want]
        unknown = [p for p in boxes if met(p) is None]
        label = "目標に達している" if want else "目標に達していない"
        d: Draft | None = _boxes(f"{scope}で{label}KPI（実績報告）", chosen, unknown)
    else:
        if intent.has("report"):  # 「報告書のKPIは？」: the report's boxes, not the plan's rows
            d = _kpis(k.catalog, f"{scope}の実績報告のKPI", [], boxes)
        else:
            d = _kpis(k.catalog, f"{scope}のKPI", plans, [p for p in boxes if not p.plan_kpi_id])
    if d is not None:
        d.derived.append(scope)  # the set's name is the filter read from the catalog
    return d


def answer_pending(q: str, k: Knowledge) -> Draft | None:
    """The measures the plan prints without content (its placeholder rows), of the goals the question names; and,
    for the whole plan, a number it prints only in a listing as 「・企 16 （調整中）」, with no row of its own."""
    goals = k.goal_hits(q)
    ms = [m for m in k.catalog.measures if m.placeholder and (not goals or m.goal in goals)]
    scope = f"「{goals[0]}」" if goals else "計画"
    listed = [] if goals else _pending_listed(k)
    if not ms and not listed:
        return None
    d = answer_list(k, f"{scope}で内容が（調整中）となっている施策", ms) if ms else Draft(lines=[""])
    for ev in listed:
        d.lines.append(
            f"・{ev.measure_id} （調整中）（施策の表に行がなく、「{ev.section}」の一覧にのみ掲載）"
        )
        d.evidence.append(ev)
    n = len({m.measure_id for m in ms}) + len(listed)
    d.lines[0] = f"{scope}で内容が（調整中）となっている施策は次の{n}件です。"
    d.derived = [f"{n}件"]
    return d


@lru_cache(maxsize=4)
def _pending_listed(k: Knowledge) -> tuple[Evidence, ...]:
    """Measure numbers a plan line lists as pending (the number and 「（調整中）」, nothing else) that no table of
    measures holds, first mention each (read once per index: the source lines do not change)."""
    seen = {m.measure_id for m in k.catalog.measures}
    out: list[Evidence] = []
    for doc_id, lines in k.sources.items():
        if doc_id not in k.docs or k.docs[doc_id].kind != "plan":
            continue
        for no, line in enumerate(lines, 1):
            s = nfkc(line)
            ids = [normalize_measure_id(m.group(0)) for m in MEASURE_ID_RE.finditer(s)]
            rest = MEASURE_ID_RE.sub("", s).replace("(調整中)", "").strip(" ・")
            if len(ids) != 1 or "(調整中)" not in s or rest or ids[0] in seen:
                continue
            seen.add(ids[0])
            heading = next(
                (
                    x.title
                    for x in k.catalog.sections
                    if x.doc_id == doc_id and x.line_start <= no <= x.line_end
                ),
                k.titles.get(doc_id, ""),
            )
            out.append(Evidence(doc_id, no, no, line.strip(), ids[0], heading))
    return tuple(out)


def _ranked(q: str, k: Knowledge) -> Draft | None:
    """「達成率がいちばん高いKPIは？」: the report's boxes that print a 達成率, highest (or lowest) first. Only
    printed rates are compared; the boxes without one are named as left out."""
    rated = [(r, p) for p in k.catalog.progress_kpis if (r := _rate(p.achievement_rate_raw)) is not None]
    if not rated:
        return None
    low = bool(_LOW.search(q))
    rated.sort(key=lambda x: x[0], reverse=not low)
    best = [p for r, p in rated if r == rated[0][0]]
    word = "低い" if low else "高い"
    d = Draft(
        lines=[
            f"実績報告で達成率が印字されている{len(rated)}件のKPIのうち、最も{word}のは"
            + "、".join(
                f"「{p.name}」（{p.latest_year_raw or ''}実績{shown(p.latest, p.unit)}、"
                f"目標（{p.target_year_raw or ''}）{shown(p.target, p.unit)}、達成率{p.achievement_rate_raw}）"
                for p in best
            )
            + "です。",
            "達成率の順: " + "、".join(f"{p.name} {p.achievement_rate_raw}" for _, p in rated),
        ]
    )
    for _, p in rated:
        d.evidence.append(progress_evidence(p))
        d.kpis.append(box_view(p))
    others = len(k.catalog.progress_kpis) - len(rated)
    if others:
        d.lines.append(f"ほかの{others}件は達成率が印字されていないため比べていません。")
        d.derived.append(f"{others}件")
    d.derived.append(f"{len(rated)}件")
    return d


def _rate(raw: str | None) -> float | None:
    m = re.search(r"\d+(?:\.\d+)?", raw or "")
    return float(m.group(0)) if m else None


def _boxes(title: str, chosen: list[ProgressKpi], unknown: list[ProgressKpi]) -> Draft:
    d = Draft(lines=[f"{title}は次の{len(chosen)}件です。" if chosen else f"{title}はありません。"])
    d.derived.append(f"{len(chosen)}件")  # counted from the records listed
    for p in chosen[:MAX_ITEMS]:
        rate = f"、達成率{p.achievement_rate_raw}" if p.achievement_rate_raw else ""
        d.lines.append(
            f"・{p.name}: {p.latest_year_raw or ''}実績{shown(p.latest, p.unit)}"
            f"（目標（{p.target_year_raw or ''}）{shown(p.target, p.unit)}{rate}）"
        )
        d.evidence.append(progress_evidence(p))
        d.kpis.append(box_view(p))
    if unknown:
        d.lines.append("目標が数値でない等で判定できないもの: " + "、".join(p.name for p in unknown))
        d.evidence += [progress_evidence(p) for p in unknown]
    d.answerable = bool(chosen)
    return d


def _kpis(cat: Catalog, title: str, plans: list[PlanKpi], boxes: list[ProgressKpi]) -> Draft | None:
    if not plans and not boxes:
        return None
    count = len({x.item for x in plans}) + len(boxes)
    d = Draft(lines=[f"{title}は次の{count}件です。"], derived=[f"{count}件"])
    seen: set[str] = set()
    for x in plans[:MAX_ITEMS]:
        if x.item in seen:
            continue
        seen.add(x.item)
        last = list(x.targets)[-1] if x.targets else ""
        target = f"、{last}目標{shown(x.targets[last], x.unit)}" if last else ""
        ref = x.measure_ref_raw or ",".join(x.measure_ids)
        d.lines.append(f"・{ref} {x.item}（現状値{shown(x.baseline, x.unit)}{target}）")
        d.evidence.append(kpi_evidence(x))
        d.kpis.append(kpi_view(cat, x))
    for p in boxes[:MAX_ITEMS]:
        d.lines.append(f"・{p.name}（実績報告のKPI: {p.latest_year_raw or ''}実績{shown(p.latest, p.unit)}）")
        d.evidence.append(progress_evidence(p))
        d.kpis.append(box_view(p))
    return d


def _initiatives(
    q: str, intent: Intent, k: Knowledge, goals: list[str], topic: frozenset[str]
) -> Draft | None:
    """The report's initiatives of the goals asked (all of them when none is), the new ones (【新規】) when asked,
    and of those the ones sharing most of the topic's words when the question names one (「新しくWi-Fiが入った
    施設は？」). When none of the topic's is new, the topic's are listed, and the answer says none is marked new."""
    items: list[Initiative] = list(k.catalog.initiatives)
    if goals:
        items = [i for i in items if i.goal in goals]
    things = topic & (set(content_tokens(q)) - predicates(q))  # what the topic names, not how it asks
    shared = {id(i): len(things & set(tokenize(f"{i.text} {i.detail or ''}"))) for i in items}
    most = max(shared.values(), default=0)
    if most:  # a topic no item shares is a question word the vocabulary lacks: the whole set is asked
        items = [i for i in items if shared[id(i)] == most]
    new_only = intent.has("new") and any(i.new for i in items)
    if new_only:
        items = [i for i in items if i.new]
    if not items:
        return None
    titles = {d.doc_id: d.title for d in k.catalog.documents}
    title = titles.get(items[0].doc_id, "")
    scope = "・".join(goals) if goals else ""
    n = f"次の{len(items)}件"
    lead = f"{title}の{scope + 'の' if scope else ''}{'新規の' if new_only else ''}主要取組は{n}です。"
    if intent.has("new") and not new_only:
        lead = f"{title}で【新規】とされた取組にはありませんが、関連する取組は{n}です。"
    d = Draft(lines=[lead], derived=[f"{len(items)}件"])
    d.derived += goals  # the set's name is the filter read from the catalog
    for i in items[:MAX_ITEMS]:
        d.lines.append(f"・{i.text}" + (f" {i.detail}" if i.detail else "") + ("【新規】" if i.new else ""))
        d.evidence.append(
            Evidence(i.doc_id, i.line_start, i.line_end, f"{i.text} {i.detail or ''}", None, i.goal)
        )
    if len(items) > MAX_ITEMS:
        d.lines.append(f"（ほか{len(items) - MAX_ITEMS}件）")
        d.derived.append(f"{len(items) - MAX_ITEMS}件")
    return d
