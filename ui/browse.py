"""Browse pages: 施策一覧 (measures filterable by goal and department) and KPI一覧 (every KPI with status).

Both read the API (`GET /measures`, `GET /kpis`); the filter choices are built from the records returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from ui.client import ApiClient
from ui.kpi import STATUS_LABELS, group_kpis, kpi_row, kpi_title
from ui.render import owner_text, show_kpi, show_measure_card

__all__ = ["show_measures_page", "show_kpis_page", "measure_rows", "ALL", "KPI_COLUMNS"]

ALL = "すべて"
# 状況 and 最新実績 right after the name, so they are on screen without scrolling sideways.
KPI_COLUMNS = [
    "施策",
    "指標",
    "状況",
    "最新実績",
    "単位",
    "根拠",
    "目標",
    "基準値",
    "達成率（報告書）",
    "資料",
]
_PICK_HINT = "行を選ぶと、その詳細を下に表示します。"


def _picked_row(event: object, key: str, options: Sequence[object]) -> None:
    """A row picked in a table becomes the choice of the detail selectbox `key` (set before it is drawn)."""
    rows = list(getattr(getattr(event, "selection", None), "rows", None) or [])
    last = f"{key}-last-row"
    if rows and rows[0] < len(options) and st.session_state.get(last) != rows[0]:
        st.session_state[key] = options[rows[0]]
    st.session_state[last] = rows[0] if rows else None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _goals(m: dict[str, Any]) -> list[str]:
    """Every goal a measure is listed under (merged entries carry `goals`; a listing carries `goal`)."""
    return _unique([str(g) for g in m.get("goals") or []] + [str(m.get("goal") or "")])


def measure_rows(measures: list[dict[str, Any]]) -> pd.DataFrame:
    """The 施策一覧 table: one row per listing, every cell a string."""
    rows = [
        {
            "施策番号": str(m.get("measure_id") or ""),
            "施策名": str(m.get("name") or "（名称なし）"),
            "KPI": "★" if m.get("kpi_mark") else "",
            "再掲": "再" if m.get("relisted") or m.get("relisted_listings") else "",
            "担当所属": "、".join(owner_text(o) for o in m.get("owners") or []),
            "目標": "、".join(_goals(m)),
        }
        for m in measures
    ]
    return pd.DataFrame(rows, columns=["施策番号", "施策名", "KPI", "再掲", "担当所属", "目標"])


def show_measures_page(client: ApiClient, ask: Callable[[str], None]) -> None:
    st.header("施策一覧")
    everything = client.measures()
    goals = _unique([g for m in everything for g in _goals(m)])
    bureaus = _unique([str(o.get("bureau") or "") for m in everything for o in m.get("owners") or []])
    c1, c2, c3 = st.columns(3)
    goal = c1.selectbox("目標で絞り込む", [ALL, *goals], key="filter-goal")
    dept = c2.selectbox("担当部局で絞り込む", [ALL, *bureaus], key="filter-dept")
    text = c3.text_input("キーワード（施策名・課名など）", key="filter-text")
    filtered = client.measures(
        goal=None if goal == ALL else goal,
        department=None if dept == ALL else dept,
        text=text.strip() or None,
    )
    st.text(f"{len(filtered)}件（全{len(everything)}件）")
    st.caption(_PICK_HINT)
    event = st.dataframe(
        measure_rows(filtered),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="measure-table",
        column_config={
            "施策番号": st.column_config.TextColumn(width="small"),
            "施策名": st.column_config.TextColumn(width="medium"),
            "KPI": st.column_config.TextColumn(width="small"),
            "再掲": st.column_config.TextColumn(width="small"),
            "担当所属": st.column_config.TextColumn(width="medium"),
        },
    )
    ids = [str(m.get("measure_id") or "") for m in filtered]
    if not ids:
        return
    _picked_row(event, "measure-detail", ids)
    ids = _unique(ids)
    if st.session_state.get("measure-detail") not in ids:
        st.session_state.pop("measure-detail", None)
    picked = st.selectbox("施策の詳細を見る", ids, key="measure-detail")
    for m in filtered:
        if m.get("measure_id") == picked:
            show_measure_card(m)
    st.button("この施策について質問する", key="measure-ask", on_click=ask, args=(f"{picked}について教えて",))


def show_kpis_page(client: ApiClient) -> None:
    st.header("KPI一覧")
    groups = group_kpis(client.kpis())
    rows = [kpi_row(k, p) for k, p in groups]
    labels = [*STATUS_LABELS, *sorted({r["状況"] for r in rows} - set(STATUS_LABELS))]
    counts = {s: sum(r["状況"] == s for r in rows) for s in labels}
    st.text("　".join(f"{s}: {n}件" for s, n in counts.items()) + f"　（全{len(rows)}件）")
    st.caption(
        "状況はAPIが判定した結果です: 進捗報告書の達成率（なければ実績値と目標値の比）で判定し、"
        "実績がまだ公表されていない指標は「実績未公表」、目標のない指標は「目標なし」です。"
    )
    status = st.selectbox("状況で絞り込む", [ALL, *counts], key="filter-status")
    shown = [i for i, r in enumerate(rows) if status in (ALL, r["状況"])]
    frame = pd.DataFrame([rows[i] for i in shown], columns=KPI_COLUMNS)
    st.caption(_PICK_HINT)
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="kpi-table",
        column_config={
            "施策": st.column_config.TextColumn(width=70),
            "指標": st.column_config.TextColumn(width=280),
            "状況": st.column_config.TextColumn(width=90),
            "最新実績": st.column_config.TextColumn(width=130),
            "単位": st.column_config.TextColumn(width=80),
        },
    )
    if not shown:
        return
    _picked_row(event, "kpi-detail", shown)
    if st.session_state.get("kpi-detail") not in shown:
        st.session_state.pop("kpi-detail", None)
    names = {i: f"{rows[i]['施策'] or '-'}　{kpi_title(groups[i][0])}" for i in shown}
    picked = st.selectbox("グラフで見る指標", shown, format_func=lambda i: names[i], key="kpi-detail")
    kpi, progress = groups[picked]
    show_kpi(kpi, progress, key=f"browse-{picked}")
