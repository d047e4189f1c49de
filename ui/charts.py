"""Altair chart of one KPI: baseline, targets and reported actuals on one fiscal-year axis.

The x axis is the Western fiscal year labelled with its era year (2020 -> R2). Targets are a dashed line
with points, actuals a solid line with points, and the latest actual carries its printed value as a label; when
the plan and the report print different baselines, each baseline point is labelled with its source.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from ui.kpi import ACTUAL, BASELINE, TARGET

__all__ = ["kpi_chart", "points_frame"]

_COLORS = {BASELINE: "#6b7280", TARGET: "#d97706", ACTUAL: "#2563eb"}


def points_frame(points: list[dict[str, Any]]) -> pd.DataFrame:
    """The chart's data as a table (also what the "表で見る" toggle shows)."""
    cols = ["年度表示", "区分", "表示値", "値", "出典", "年度"]
    return pd.DataFrame(points, columns=cols)


def kpi_chart(points: list[dict[str, Any]], unit: str = "", title: str = "") -> alt.LayerChart:
    """A layered Altair chart of `points` (from `ui.kpi.kpi_points`); only series with a point are drawn
    and listed in the legend."""
    df = points_frame(points)
    years = [int(y) for y in df["年度"]] or [0]
    x = alt.X(
        "年度:Q",
        title="年度",
        scale=alt.Scale(domain=[min(years) - 0.3, max(years) + 0.3], nice=False),
        axis=alt.Axis(
            values=list(range(min(years), max(years) + 1)),
            format="d",
            labelExpr=(
                "(datum.value >= 2019 ? 'R' + (datum.value - 2018) : 'H' + (datum.value - 1988))"
                " + '（' + datum.value + '）'"
            ),
        ),
    )
    y = alt.Y("値:Q", title=unit or "値", scale=alt.Scale(zero=False, padding=12))
    present = set(df["区分"])
    kinds = [k for k in _COLORS if k in present]  # the legend lists only the series that have a point
    color = alt.Color(
        "区分:N",
        scale=alt.Scale(domain=kinds, range=[_COLORS[k] for k in kinds]),
        # compact, so the three series fit under a 390 px wide phone chart
        legend=alt.Legend(
            title=None,
            orient="bottom",
            direction="horizontal",
            columnPadding=6,
            symbolSize=50,
            labelFontSize=11,
        ),
    )
    tooltip = [
        alt.Tooltip("年度表示:N", title="年度"),
        alt.Tooltip("区分:N"),
        alt.Tooltip("表示値:N", title="値"),
        alt.Tooltip("出典:N"),
    ]
    base = alt.Chart(df).encode(x=x, y=y, color=color, tooltip=tooltip)
    layers: list[Any] = []
    if TARGET in present:
        layers.append(
            base.transform_filter(alt.datum["区分"] == TARGET)
            .mark_line(strokeDash=[6, 4], point=True)
            .encode(detail="出典:N")
        )
    if ACTUAL in present:
        layers.append(
            base.transform_filter(alt.datum["区分"] == ACTUAL).mark_line(point=True).encode(detail="出典:N")
        )
    if BASELINE in present:
        layers.append(
            base.transform_filter(alt.datum["区分"] == BASELINE).mark_point(
                filled=True, size=90, shape="diamond"
            )
        )
    baselines = df[df["区分"] == BASELINE]
    if len(baselines) > 1:  # the plan and the report print different baselines: say which is which
        label = baselines.assign(ラベル=baselines["出典"] + " " + baselines["表示値"].astype(str))
        layers.append(
            alt.Chart(label)
            .mark_text(dx=8, align="left", fontSize=10)
            .encode(x=x, y=y, text="ラベル:N", color=alt.value(_COLORS[BASELINE]))
        )
    if not layers:  # no point at all: an empty frame still needs one layer
        layers.append(base.mark_point())
    latest = _latest_actual(df)
    if latest is not None:
        label = (
            alt.Chart(latest)
            .mark_text(dy=-14, fontWeight="bold")
            .encode(x=x, y=y, text="ラベル:N", color=alt.value(_COLORS[ACTUAL]))
        )
        layers.append(label)
    chart = alt.LayerChart(layer=layers)
    if title:
        chart = chart.properties(title=title)
    return chart.properties(height=260)  # type: ignore[return-value]


def _latest_actual(df: pd.DataFrame) -> pd.DataFrame | None:
    actual = df[df["区分"] == ACTUAL]
    if actual.empty:
        return None
    row = actual.sort_values("年度").tail(1).copy()
    row["ラベル"] = "最新実績 " + row["表示値"].astype(str)
    return row
