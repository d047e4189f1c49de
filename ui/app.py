"""Streamlit chat UI for policy-assistant (Japanese). Run: `policy-assistant ui` or `make demo`.

The UI talks to the API over HTTP only (`POLICY_ASSISTANT_API_URL`, default http://127.0.0.1:8000):
`POST /ask` for the chat (the conversation so far goes along as `history`, so follow-ups work),
`GET /measures` and `GET /kpis` for the browse pages, `GET /documents` for the sidebar.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run ui/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ui.browse import show_kpis_page, show_measures_page  # noqa: E402
from ui.client import ApiClient, ApiError, ApiUnavailable, api_url_from_env, history_for_request  # noqa: E402
from ui.render import md_escape, show_answer  # noqa: E402

PAGES = ("質問する", "施策一覧", "KPI一覧")

# One example per user group; shown to a first-time visitor as buttons.
EXAMPLES = (
    ("県職員", "施策の担当課を調べる", "無料公衆無線LANの整備はどこの課の担当ですか？"),
    ("県民", "計画に書かれていることを知る", "川の水位や雨量をリアルタイムで確認できる仕組みはありますか？"),
    ("企画担当", "KPIの目標と実績を確かめる", "マイナンバーカードの県内普及率の目標と実績は？"),
)


def unreachable_message(url: str) -> str:
    safe_url = url.replace("`", "")
    return (
        f"APIサーバーに接続できません（接続先: `{safe_url}`）。"
        "別のターミナルで `make demo` または `policy-assistant serve` を実行してから、"
        "このページを再読み込みしてください。"
    )


def queue_question(text: str) -> None:
    """Button callback: ask `text` on the next run and show the chat page."""
    st.session_state["pending"] = text
    st.session_state["page"] = PAGES[0]


def _sidebar(client: ApiClient) -> str:
    st.sidebar.title("ICT政策 Q&A")
    page = st.sidebar.radio("ページ", PAGES, key="page")
    try:
        docs = client.documents()
    except (ApiUnavailable, ApiError):
        docs = []
    if docs:
        st.sidebar.caption("回答のもとにする資料")
        for d in docs:
            extra = f"（{d['as_of']}時点）" if d.get("as_of") else ""
            st.sidebar.text(f"・{d.get('title') or d.get('doc_id')}{extra}")
    if st.session_state.get("messages") and st.sidebar.button("会話をリセット", key="reset"):
        st.session_state["messages"] = []
    st.sidebar.caption(f"API: {md_escape(client.base_url)}")
    return str(page)


def _examples() -> None:
    st.text("資料（計画書・進捗報告書）に書かれていることだけを、出典つきでお答えします。")
    st.caption("質問の例（押すとそのまま質問します）")
    cols = st.columns(len(EXAMPLES))
    for i, (group, purpose, question) in enumerate(EXAMPLES):
        with cols[i]:
            st.caption(f"{group}: {purpose}")
            st.button(md_escape(question), key=f"example-{i}", on_click=queue_question, args=(question,))


def _show_message(i: int, m: dict) -> None:
    with st.chat_message(m["role"]):
        if m["role"] == "user":
            st.text(m["content"])
        elif m.get("error"):
            st.error(m["error"])
        else:
            show_answer(m["response"], key=str(i), ask=queue_question)


def _ask(client: ApiClient, question: str) -> None:
    messages: list[dict] = st.session_state["messages"]
    history = history_for_request(messages)
    messages.append({"role": "user", "content": question})
    _show_message(len(messages) - 1, messages[-1])
    try:
        with st.spinner("資料を調べて回答を作成しています…"):
            resp = client.ask(question, history)
        reply = {"role": "assistant", "content": str(resp.get("answer") or ""), "response": resp}
    except ApiUnavailable as exc:
        reply = {"role": "assistant", "content": "", "error": unreachable_message(exc.url)}
    except ApiError as exc:
        reply = {
            "role": "assistant",
            "content": "",
            "error": f"質問を処理できませんでした（HTTP {exc.status}）: {md_escape(exc.detail)}",
        }
    messages.append(reply)
    _show_message(len(messages) - 1, reply)


def chat_page(client: ApiClient) -> None:
    st.header("質問する")
    messages = st.session_state.setdefault("messages", [])
    # The chat input is pinned to the bottom whatever the call order; reading it first tells whether this
    # run starts a conversation, so the examples show only while there is none (nor a question on its way).
    typed = st.chat_input("質問を入力してください（例: ○○の担当課は？）", max_chars=2000)
    pending = st.session_state.pop("pending", None)
    question = typed if typed and typed.strip() else pending
    if not messages and not (question and question.strip()):
        _examples()
    for i, m in enumerate(messages):
        _show_message(i, m)
    if question and question.strip():
        _ask(client, question)


def main() -> None:
    st.set_page_config(page_title="ICT政策 Q&A", page_icon="💬", layout="wide")
    client = ApiClient(api_url_from_env())
    page = _sidebar(client)
    try:
        client.health()
    except (ApiUnavailable, ApiError):
        st.error(unreachable_message(client.base_url))
        st.stop()
    try:
        if page == PAGES[1]:
            show_measures_page(client, ask=queue_question)
        elif page == PAGES[2]:
            show_kpis_page(client)
        else:
            chat_page(client)
    except ApiUnavailable as exc:
        st.error(unreachable_message(exc.url))
    except ApiError as exc:
        st.error(f"APIがエラーを返しました（HTTP {exc.status}）: {md_escape(exc.detail)}")


main()
