"""The フィードバック page: the latest verdicts (役に立った / 違う・足りない) and comments users left on answers, filterable, for the corpus team.

Reads `GET /feedback`; the full export is `policy-assistant feedback export --format csv|jsonl`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.client import ApiClient

__all__ = ["show_feedback_page", "feedback_rows", "VERDICTS"]

VERDICTS = {"すべて": None, "違う・足りない": "down", "役に立った": "up"}
_LABEL = {"up": "役に立った", "down": "違う・足りない"}


def feedback_rows(items: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "日時（UTC）": str(i.get("created_at") or "").replace("T", " ").removesuffix("+00:00"),
            "評価": _LABEL.get(str(i.get("verdict")), str(i.get("verdict"))),
            "質問": str(i.get("question") or ""),
            "コメント": str(i.get("comment") or ""),
            "回答": str(i.get("answer") or "")[:200],
            "出典数": str(len(i.get("citations") or [])),
            "索引": str(i.get("index_id") or ""),
        }
        for i in items
    ]
    return pd.DataFrame(rows, columns=["日時（UTC）", "評価", "質問", "コメント", "回答", "出典数", "索引"])


def show_feedback_page(client: ApiClient) -> None:
    st.header("フィードバック")
    st.caption(
        "回答への評価とコメント（新しい順）。すべてを書き出すには `policy-assistant feedback export`。"
    )
    c1, c2, c3 = st.columns([1, 2, 1])
    verdict = c1.selectbox("評価で絞り込む", list(VERDICTS), key="fb-filter-verdict")
    text = c2.text_input("キーワード（質問・回答・コメント）", key="fb-filter-text", max_chars=200)
    limit = c3.selectbox("表示件数", [50, 100, 500], key="fb-filter-limit")
    body = client.feedback(verdict=VERDICTS[verdict], text=text.strip() or None, limit=int(limit))
    counts = body.get("counts") or {}
    st.text(f"役に立った: {counts.get('up', 0)}件　違う・足りない: {counts.get('down', 0)}件（全体）")
    frame = feedback_rows(body.get("items") or [])
    if frame.empty:
        st.text("条件に合うフィードバックはまだありません。")
        return
    st.dataframe(frame, hide_index=True, width="stretch", key="fb-table")
    st.download_button(
        "この一覧をCSVで保存", frame.to_csv(index=False).encode("utf-8-sig"), "feedback.csv", "text/csv"
    )
