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
from ui.kpi import group_kpis, kpi_points, kpi_status, kpi_title, kpi_unit

__all__ = [
    "md_escape",
    "citation_label",
    "readable_location",
    "owner_text",
    "show_answer",
    "show_citations",
    "show_measure_card",
    "show_kpi",
]

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


def show_citations(citations: list[dict[str, Any]]) -> None:
    if not citations:
        return
    st.caption("出典")
    for n, c in enumerate(citations, start=1):
        with st.expander(md_escape(citation_label(c, n))):
            st.text(str(c.get("quote") or ""))


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
        status, why = kpi_status(kpi, progress)
        st.text(f"状況: {status}（{why}）")
        if not points:
            st.text("グラフにできる数値が記録にありません。")
            return
        alt_text = f"{title}の基準値・目標値・実績値の推移（数値は「表で見る」で表として表示できます）"
        st.altair_chart(kpi_chart(points, unit=unit), width="stretch", alt=alt_text)
        if st.toggle("表で見る", key=f"kpi-table-{key}"):
            frame = points_frame(points)[["年度表示", "区分", "表示値", "出典"]]
            st.dataframe(frame.rename(columns={"年度表示": "年度", "表示値": "値"}), hide_index=True)


def show_answer(resp: dict[str, Any], key: str, ask: Callable[[str], None]) -> None:
    """A full answer: text, abstention notice with related-measure buttons, citations, cards, charts."""
    st.text(str(resp.get("answer") or ""))
    if not resp.get("answerable", True):
        st.info("資料の中に根拠が見つからなかったため、この質問にはお答えできません。")
        related = [str(r) for r in resp.get("related") or []]
        if related:
            st.caption("関連する施策について質問する")
            cols = st.columns(min(len(related), 4))
            for i, mid in enumerate(related):
                text = f"{mid}について教えて"
                cols[i % len(cols)].button(md_escape(text), key=f"rel-{key}-{i}", on_click=ask, args=(text,))
    show_citations(resp.get("citations") or [])
    measures = resp.get("measures") or []
    if measures:
        st.caption("関連する施策")
        for m in measures:
            show_measure_card(m)
    groups = group_kpis(resp.get("kpis") or [])
    if groups:
        st.caption("関連する目標指標（KPI）")
        for i, (kpi, progress) in enumerate(groups):
            show_kpi(kpi, progress, key=f"{key}-{i}")
