"""Streamlit chat UI for policy-assistant (Japanese). Run: `policy-assistant ui` or `make demo`.

The UI talks to the API over HTTP only (`POLICY_ASSISTANT_API_URL`, default http://127.0.0.1:8000):
`POST /ask` for the chat (the conversation so far goes along as `history`, so follow-ups work),
`/conversations` to keep the conversation across reloads, `/feedback` and `/documents/{id}/passage` on
each answer, `GET /measures` and `GET /kpis` for the browse pages, `GET /documents` for the sidebar.
The page navigation is a row at the top (not in the sidebar), so on a phone nothing stays open over the page.
When the API is unreachable every page says so in words for end users and offers 「再試行」; the
conversation on screen stays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run ui/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ui.browse import show_kpis_page, show_measures_page  # noqa: E402
from ui.chat import PAGE_CHAT, chat_page, queue_question, show_unavailable  # noqa: E402
from ui.client import ApiClient, ApiError, ApiUnavailable, api_url_from_env  # noqa: E402
from ui.feedback_page import show_feedback_page  # noqa: E402
from ui.render import md_escape  # noqa: E402

PAGES = (PAGE_CHAT, "施策一覧", "KPI一覧", "フィードバック")


def _sidebar(client: ApiClient) -> None:
    st.sidebar.title("ICT政策 Q&A")
    try:
        docs = client.documents()
    except (ApiUnavailable, ApiError):
        docs = []
    if docs:
        st.sidebar.caption("回答のもとにする資料")
        for d in docs:
            extra = f"（{d['as_of']}時点）" if d.get("as_of") else ""
            st.sidebar.text(f"・{d.get('title') or d.get('doc_id')}{extra}")
    st.sidebar.caption(f"API: {md_escape(client.base_url)}")


def _api_up(client: ApiClient) -> bool:
    try:
        client.health()
    except (ApiUnavailable, ApiError):
        return False
    return True


def main() -> None:
    st.set_page_config(
        page_title="ICT政策 Q&A", page_icon="💬", layout="wide", initial_sidebar_state="collapsed"
    )
    client = ApiClient(api_url_from_env())
    _sidebar(client)
    page = st.radio("ページ", PAGES, key="page", horizontal=True, label_visibility="collapsed")
    up = _api_up(client)
    if page == PAGE_CHAT:
        if not up:
            show_unavailable(client.base_url, "retry-top")
        chat_page(client, api_up=up)
        return
    if not up:
        show_unavailable(client.base_url, "retry-top")
        return
    try:
        if page == PAGES[1]:
            show_measures_page(client, ask=queue_question)
        elif page == PAGES[2]:
            show_kpis_page(client)
        else:
            show_feedback_page(client)
    except ApiUnavailable as exc:
        show_unavailable(exc.url, "retry-page")
    except ApiError as exc:
        st.error(f"データを読み込めませんでした（HTTP {exc.status}）: {md_escape(exc.detail)}")


main()
