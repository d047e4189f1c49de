"""Streamlit pieces that show API data: answer, citations, measure cards, KPI charts.

Every text that comes from the API or the user is shown as text: bodies with `st.text`, and the few labels
Streamlit parses as Markdown (expanders, buttons, captions) pass through `md_escape` first. Nothing here
uses `unsafe_allow_html`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui.charts import kpi_chart, points_frame
from ui.kpi import (
    STATUS_MET,
    STATUS_NOT_MET,
    group_kpis,
    kpi_points,
    kpi_title,
    kpi_unit,
    kpi_verdict,
)

__all__ = [
    "md_escape",
    "citation_label",
    "citation_range",
    "reading_label",
    "show_passage",
    "show_verdicts",
    "measure_table",
    "LIST_MIN",
    "MANY_SOURCES",
    "readable_location",
    "owner_text",
    "show_answer",
    "show_citations",
    "show_measure_card",
    "show_kpi",
]

LIST_MIN = 6  # an answer with this many measures is a list answer: one table, not one card each
MANY_SOURCES = 5
_BADGE = {STATUS_MET: "green", STATUS_NOT_MET: "red"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")


def md_escape(text: Any) -> str:
    """`text` with every Markdown/HTML special character backslash-escaped and newlines folded."""
    s = " ".join(str(text if text is not None else "").split())
    return _MD_SPECIAL.sub(r"\\\1", s)


_LINES = re.compile(r"(?<![A-Za-z0-9])L(\d+)(?:\s*[-–〜~]\s*L?(\d+))?")


def readable_location(location: Any) -> str:
    """`L885-921` -> `885〜921行目（L885-921）`, `L12` / `L12-12` -> `12行目（L12）`; other text unchanged.

    The short `L…` form stays in brackets so a reader can match it against the API's `location` field.
    """
    text = str(location or "").strip()

    def one(m: re.Match[str]) -> str:
        start, end = m.group(1), m.group(2)
        if end and end != start:
            return f"{start}〜{end}行目（L{start}-{end}）"
        return f"{start}行目（L{start}）"

    return _LINES.sub(one, text)


def citation_label(c: dict[str, Any], n: int) -> str:
    """`[1] 資料名 ｜ 企15 ｜ 章 > 節 ｜ 885〜944行目（L885-944）` (plain text, not yet escaped)."""
    parts = [str(c.get("doc_title") or c.get("doc_id") or "")]
    if c.get("measure_id"):
        parts.append(str(c["measure_id"]))
    if c.get("section"):
        parts.append(str(c["section"]))
    parts.append(readable_location(c.get("location")))
    return f"[{n}] " + " ｜ ".join(p for p in parts if p)


def owner_text(owner: dict[str, Any]) -> str:
    """`部 課（事業開始 H29・2017年度）`, or `（事業開始 ー）` when the record has no start year."""
    name = " ".join(str(owner.get(k) or "") for k in ("bureau", "section")).strip()
    raw, year = owner.get("start_year_raw"), owner.get("start_year")
    start = f"{raw}・{year}年度" if raw and year else str(raw or year or "ー")
    return f"{name}（事業開始 {start}）"


def citation_range(c: dict[str, Any]) -> tuple[int, int] | None:
    """The cited lines (start, end): the citation's `line_start`/`line_end` when the API sends them, else
    parsed from `location` (`L885-921`, `L12`); None when the location names no line."""
    if isinstance(c.get("line_start"), int) and c["line_start"] > 0:
        return c["line_start"], int(c.get("line_end") or c["line_start"])
    m = _LINES.search(str(c.get("location") or ""))
    if not m:
        return None
    start = int(m.group(1))
    return start, int(m.group(2) or start)


def reading_label(c: dict[str, Any]) -> str:
    """Where a citation points, as people read it: `資料名 ｜ 章 > 節 ｜ 企15` (lines stay a small detail)."""
    parts = [str(c.get("doc_title") or c.get("doc_id") or "")]
    if c.get("section"):
        parts.append(str(c["section"]))
    if c.get("measure_id"):
        parts.append(str(c["measure_id"]))
    return " ｜ ".join(p for p in parts if p)


OpenSource = Callable[[dict[str, Any]], None]


def show_citations(citations: list[dict[str, Any]], key: str, open_source: OpenSource | None = None) -> None:
    """Each source as an expander (its quote and a 「原文で見る」 button); more than `MANY_SOURCES` sources
    fold into one expander so a long list answer stays short."""
    if not citations:
        return
    if len(citations) > MANY_SOURCES:
        with st.expander(f"出典（{len(citations)}件）"):
            for n, c in enumerate(citations, start=1):
                st.caption(md_escape(citation_label(c, n)))
                _source_button(c, f"{key}-{n}", open_source)
        return
    st.caption("出典")
    for n, c in enumerate(citations, start=1):
        with st.expander(md_escape(citation_label(c, n))):
            st.text(str(c.get("quote") or ""))
            _source_button(c, f"{key}-{n}", open_source)


def _source_button(c: dict[str, Any], key: str, open_source: OpenSource | None) -> None:
    if open_source is not None and citation_range(c):
        st.button("原文で見る", key=f"src-{key}", on_click=open_source, args=(c,), icon=":material/article:")


def show_passage(p: dict[str, Any]) -> None:
    """The source viewer's body: the section path people read, the section's cleaned text with the cited
    blocks highlighted, and the line range as a small technical detail."""
    st.markdown(f"**{md_escape(p.get('section_label') or p.get('doc_title'))}**")
    st.caption(md_escape(f"{p.get('doc_title')} ｜ 引用箇所 {readable_location(p.get('location'))}"))
    for b in p.get("blocks") or []:
        if b.get("cited"):
            with st.container(border=True, key=f"cited-{b.get('line_start')}-{b.get('line_end')}"):
                st.caption(md_escape(f"▶ 引用箇所（{readable_location(b.get('location'))}）"))
                lines = [ln for ln in str(b.get("text") or "").split("\n") if ln.strip()]
                st.markdown("  \n".join(f":orange-background[{md_escape(ln)}]" for ln in lines))
        else:
            st.text(str(b.get("text") or ""))


def show_measure_card(m: dict[str, Any]) -> None:
    """施策カード: id, name, ★KPI mark, owners with start years, goal."""
    with st.container(border=True):
        mark = "　★KPI" if m.get("kpi_mark") else ""
        relisted = "（再掲）" if m.get("relisted") else ""
        st.markdown(
            f"**{md_escape(m.get('measure_id'))}**　{md_escape(m.get('name') or '（名称なし）')}"
            f"{md_escape(relisted)}{mark}"
        )
        owners = m.get("owners") or []
        st.text("担当所属: " + ("、".join(owner_text(o) for o in owners) if owners else "記載なし"))
        if m.get("goal"):
            st.text(f"目標: {m['goal']}")
        if m.get("overview"):
            st.text(f"概要: {m['overview']}")


def show_kpi(kpi: dict[str, Any], progress: list[dict[str, Any]], key: str) -> None:
    """One KPI: title, status, chart, and a "表で見る" toggle showing the same data as a table."""
    title = kpi_title(kpi)
    unit = kpi_unit(kpi, progress)
    points = kpi_points(kpi, progress)
    with st.container(border=True):
        st.markdown(f"**{md_escape(title)}**" + (f"（{md_escape(unit)}）" if unit else ""))
        status, why = kpi_verdict(kpi, progress)
        st.text(f"状況: {status}" + (f"（{why}）" if why else ""))
        if not points:
            st.text("グラフにできる数値が記録にありません。")
            return
        alt_text = f"{title}の基準値・目標値・実績値の推移（数値は「表で見る」で表として表示できます）"
        st.altair_chart(kpi_chart(points, unit=unit), width="stretch", alt=alt_text)
        if st.toggle("表で見る", key=f"kpi-table-{key}"):
            frame = points_frame(points)[["年度表示", "区分", "表示値", "出典"]]
            st.dataframe(frame.rename(columns={"年度表示": "年度", "表示値": "値"}), hide_index=True)


def show_verdicts(groups: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    """The KPI verdict first: one line per KPI (at most three), status badge from the API, then the figures."""
    for kpi, progress in groups[:3]:
        status, figures = kpi_verdict(kpi, progress)
        badge = f":{_BADGE.get(status, 'gray')}-badge[{md_escape(status)}]"
        unit = kpi_unit(kpi, progress)
        title = kpi_title(kpi) + (f"（{unit}）" if unit else "")
        st.markdown(f"{badge} **{md_escape(title)}**" + (f"　{md_escape(figures)}" if figures else ""))


def _owner_names(m: dict[str, Any]) -> list[str]:
    return [
        " ".join(str(o.get(k) or "") for k in ("bureau", "section")).strip() for o in m.get("owners") or []
    ]


def measure_table(measures: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """A list answer as (heading, rows): the owners every measure shares once as the heading; a row names
    only its other owners (共管), and the column is left out when no row has one."""
    shared = set.intersection(*(set(_owner_names(m)) for m in measures)) if measures else set()
    common = [o for o in _owner_names(measures[0]) if o in shared] if measures else []
    rows = []
    for m in measures:
        row = {"施策番号": str(m.get("measure_id") or ""), "施策名": str(m.get("name") or "（名称なし）")}
        row["KPI"] = "★" if m.get("kpi_mark") else ""
        row["担当所属" if not common else "共管"] = "、".join(o for o in _owner_names(m) if o not in shared)
        rows.append(row)
    if common and not any(r.get("共管") for r in rows):
        rows = [{k: v for k, v in r.items() if k != "共管"} for r in rows]
    return (f"担当所属: {'、'.join(common)}" if common else ""), rows


def _related_buttons(
    resp: dict[str, Any], key: str, ask: Callable[[str], None], names: dict[str, str]
) -> None:
    related = [str(r) for r in resp.get("related") or []]
    if not related:
        return
    st.caption("関連する施策について質問する")
    cols = st.columns(min(len(related), 3))
    for i, mid in enumerate(related):
        label = f"{mid} {names[mid]}" if names.get(mid) else mid
        cols[i % len(cols)].button(
            md_escape(label),
            key=f"rel-{key}-{i}",
            on_click=ask,
            args=(f"{mid}について教えて",),
            width="stretch",
        )


def show_answer(
    resp: dict[str, Any],
    key: str,
    ask: Callable[[str], None],
    open_source: OpenSource | None = None,
    names: dict[str, str] | None = None,
) -> None:
    """An answer, verdict first: KPI status lines, the answer text (a refusal once, in one box), then the
    sources, then a compact table (list answers) or the measure cards, then the KPI charts."""
    text = str(resp.get("answer") or "")
    groups = group_kpis(resp.get("kpis") or [])
    measures = resp.get("measures") or []
    if not resp.get("answerable", True):
        st.info(text)
        _related_buttons(resp, key, ask, names or {})
    else:
        show_verdicts(groups)
        lines = text.split("\n")
        if len(measures) >= LIST_MIN and len(lines) > 3:
            st.text(lines[0])
            with st.expander("回答の全文"):
                st.text(text)
        else:
            st.text(text)
    show_citations(resp.get("citations") or [], key, open_source)
    if len(measures) >= LIST_MIN:
        heading, rows = measure_table(measures)
        st.caption(md_escape(f"施策一覧（{len(rows)}件）"))
        if heading:
            st.markdown(f"**{md_escape(heading)}**")
        height = min(35 * (len(rows) + 1) + 3, 1200)  # every row on screen, no inner scrolling
        st.dataframe(rows, hide_index=True, width="stretch", height=height, key=f"list-{key}")
    elif measures:
        st.caption("関連する施策")
        for m in measures:
            show_measure_card(m)
    if groups:
        st.caption("関連する目標指標（KPI）")
        for i, (kpi, progress) in enumerate(groups):
            show_kpi(kpi, progress, key=f"{key}-{i}")
