"""The 質問する page: a conversation that survives a reload, feedback and a source viewer on every answer.

- The conversation id is in the URL (`?c=<id>`); every turn is stored by the API (`PUT /conversations/{id}/
  turns/{n}`), so a reload (a new Streamlit session) reads the turns back (`GET /conversations/{id}`).
  「新しい会話」 starts a new id. Turns that could not be stored (API away) are sent once it is back.
- Each answer has 👍 / 👎 with an optional comment (`POST /feedback`), a copy button and, on each source,
  「原文で見る」: a dialog with the cited lines highlighted in their section (`GET /documents/{id}/passage`).
- When the API is unreachable the conversation stays on screen, the question that failed stays with a
  「再試行」 button, and the message is for end users (the technical detail is in a small caption).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import streamlit as st

from ui.client import ApiClient, ApiError, ApiUnavailable, history_for_request
from ui.kpi import fill_status, status_map
from ui.render import citation_range, md_escape, show_answer, show_passage

__all__ = [
    "UNAVAILABLE",
    "chat_page",
    "queue_question",
    "new_conversation",
    "show_unavailable",
    "turn_payload",
    "EXAMPLES",
]

UNAVAILABLE = "ただいまサービスに接続できません。しばらく待ってから「再試行」を押してください。入力した質問と会話はそのまま残ります。"
PAGE_CHAT = "質問する"
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_MAX_TURN_BYTES = 60 * 1024  # the API takes bodies up to 64 KiB

# One example per user group; shown to a first-time visitor as buttons.
EXAMPLES = (
    ("県職員", "施策の担当課を調べる", "無料公衆無線LANの整備はどこの課の担当ですか？"),
    ("県民", "計画に書かれていることを知る", "川の水位や雨量をリアルタイムで確認できる仕組みはありますか？"),
    ("企画担当", "KPIの目標と実績を確かめる", "マイナンバーカードの県内普及率の目標と実績は？"),
)


def queue_question(text: str) -> None:
    """Button callback: ask `text` on the next run and show the chat page."""
    st.session_state["pending"] = text
    st.session_state["page"] = PAGE_CHAT
    st.session_state.pop("failed", None)


def new_conversation() -> None:
    """「新しい会話」: a new id in the URL and an empty conversation."""
    cid = uuid.uuid4().hex[:16]
    st.query_params["c"] = cid
    st.session_state.update(conversation_id=cid, messages=[], synced=0)
    st.session_state.pop("failed", None)


def show_unavailable(url: str, retry_key: str) -> None:
    st.warning(UNAVAILABLE, icon=":material/cloud_off:")
    st.button("再試行", key=retry_key, icon=":material/refresh:")
    st.caption(
        md_escape(f"接続先: {url}（管理者の方へ: `make demo` または `policy-assistant serve` で起動します）")
    )


def turn_payload(m: dict[str, Any]) -> dict[str, Any]:
    """A chat message as the API stores it; an answer too big for one request keeps its text and sources."""
    out = {k: m[k] for k in ("role", "content", "response", "error") if m.get(k) is not None}
    resp = dict(out.get("response") or {})
    for bulky in ("kpis", "measures", "citations"):
        if len(json.dumps(out | {"response": resp}, ensure_ascii=False).encode()) <= _MAX_TURN_BYTES:
            break
        resp[bulky] = []
    if "response" in out:
        out["response"] = resp
    return out


def _restore(client: ApiClient) -> None:
    """Load the conversation named in the URL once per session (or start one)."""
    ss = st.session_state
    cid = st.query_params.get("c")
    if not cid or not _ID.match(cid):
        if not ss.get("conversation_id"):
            new_conversation()
        return
    if ss.get("conversation_id") == cid:
        return
    try:
        turns = client.conversation(cid)
    except ApiUnavailable:
        ss.setdefault("messages", [])
        return  # tried again on the next run
    except ApiError:
        turns = []
    ss.update(conversation_id=cid, messages=turns, synced=len(turns))


def _sync(client: ApiClient) -> None:
    """Store the turns not stored yet; stops at the first failure (tried again after the next question)."""
    ss = st.session_state
    messages, cid = ss.get("messages") or [], ss.get("conversation_id")
    if not cid:
        return
    for pos in range(int(ss.get("synced") or 0), len(messages)):
        try:
            client.put_turn(cid, pos, turn_payload(messages[pos]))
        except (ApiUnavailable, ApiError):
            return
        ss["synced"] = pos + 1


@st.cache_data(ttl=600, show_spinner=False)
def _measure_names(base_url: str) -> dict[str, str]:
    try:
        return {str(m["measure_id"]): str(m.get("name") or "") for m in ApiClient(base_url).measures()}
    except (ApiUnavailable, ApiError):
        return {}


@st.cache_data(ttl=60, show_spinner=False)
def _statuses(base_url: str) -> dict[str, str]:
    """The API's KPI statuses by kpi_id (for /ask responses that do not carry `status` yet)."""
    try:
        return status_map(ApiClient(base_url).kpis())
    except (ApiUnavailable, ApiError):
        return {}


def _with_status(client: ApiClient, resp: dict[str, Any]) -> dict[str, Any]:
    kpis = resp.get("kpis") or []
    if all(k.get("status") for k in kpis):
        return resp
    return resp | {"kpis": fill_status(kpis, _statuses(client.base_url))}


def _open_source(c: dict[str, Any]) -> None:
    st.session_state["viewer"] = c


@st.dialog("出典の原文", width="large")
def _source_dialog(client: ApiClient, c: dict[str, Any]) -> None:
    rng = citation_range(c)
    if rng is None:
        st.text("この出典には行番号がありません。")
        return
    try:
        p = client.passage(str(c.get("doc_id") or ""), *rng)
    except ApiUnavailable as exc:
        show_unavailable(exc.url, "retry-source")
        return
    except ApiError as exc:
        st.error(f"原文を表示できませんでした（HTTP {exc.status}）: {md_escape(exc.detail)}")
        return
    show_passage(p)


def _feedback(client: ApiClient, i: int, question: str, resp: dict[str, Any]) -> None:
    ss = st.session_state
    key = f"{ss.get('conversation_id')}-{i}"
    cols = st.columns([2, 2, 2, 4], vertical_alignment="center")
    with cols[2].popover("コピー", icon=":material/content_copy:"):
        st.caption("右上のボタンでコピーできます")
        st.code(str(resp.get("answer") or ""), language=None, wrap_lines=True)
    sent = ss.get(f"fb-sent-{key}")
    if sent:
        cols[3].caption("フィードバックを送信しました。ありがとうございます。")
        return
    if cols[0].button("役に立った", key=f"fb-up-{key}", icon=":material/thumb_up:"):
        ss[f"fb-choice-{key}"] = "up"
    if cols[1].button("違う・足りない", key=f"fb-down-{key}", icon=":material/thumb_down:"):
        ss[f"fb-choice-{key}"] = "down"
    choice = ss.get(f"fb-choice-{key}")
    if not choice:
        return
    with st.form(key=f"fb-form-{key}", border=True):
        st.caption(
            "評価: 役に立った" if choice == "up" else "評価: 違う・足りない（どこが違うか教えてください）"
        )
        comment = st.text_area("コメント（任意）", key=f"fb-comment-{key}", max_chars=2000, height=80)
        if not st.form_submit_button("送信"):
            return
    payload = {
        "question": question or "（質問なし）",
        "answer": str(resp.get("answer") or "")[:20000],
        "citations": (resp.get("citations") or [])[:50],
        "verdict": choice,
        "comment": comment,
        "conversation_id": ss.get("conversation_id"),
    }
    try:
        client.send_feedback(payload)
    except ApiUnavailable:
        st.warning(
            "ただいまフィードバックを送信できません。しばらく待ってからもう一度「送信」を押してください。"
        )
        return
    except ApiError as exc:
        st.error(f"フィードバックを送信できませんでした: {md_escape(exc.detail)}")
        return
    ss[f"fb-sent-{key}"] = choice
    st.rerun()


def _show_message(client: ApiClient, i: int, m: dict[str, Any], names: dict[str, str]) -> None:
    with st.chat_message(m["role"]):
        if m["role"] == "user":
            st.text(m["content"])
        elif m.get("error"):
            st.error(m["error"])
        else:
            key = f"{st.session_state.get('conversation_id')}-{i}"
            show_answer(
                _with_status(client, m["response"]),
                key=key,
                ask=queue_question,
                open_source=_open_source,
                names=names,
            )
            messages = st.session_state.get("messages") or []
            question = messages[i - 1]["content"] if i > 0 else ""
            _feedback(client, i, str(question), m["response"])


def _ask(client: ApiClient, question: str, names: dict[str, str]) -> None:
    ss = st.session_state
    messages: list[dict] = ss["messages"]
    history = history_for_request(messages)
    reply: dict[str, Any]
    messages.append({"role": "user", "content": question})
    _show_message(client, len(messages) - 1, messages[-1], names)
    try:
        with st.spinner("資料を調べて回答を作成しています…"):
            resp = client.ask(question, history)
    except ApiUnavailable:
        messages.pop()  # not part of the conversation yet: kept below with a retry button
        ss["failed"] = question
        st.rerun()
    except ApiError as exc:
        reply = {
            "role": "assistant",
            "content": "",
            "error": f"質問を処理できませんでした: {md_escape(exc.detail)}",
        }
    else:
        reply = {"role": "assistant", "content": str(resp.get("answer") or ""), "response": resp}
    messages.append(reply)
    _show_message(client, len(messages) - 1, reply, names)
    _sync(client)


def _examples() -> None:
    st.text("資料（計画書・進捗報告書）に書かれていることだけを、出典つきでお答えします。")
    st.caption("質問の例（押すとそのまま質問します）")
    cols = st.columns(len(EXAMPLES))
    for i, (group, purpose, question) in enumerate(EXAMPLES):
        with cols[i]:
            st.caption(f"{group}: {purpose}")
            st.button(
                md_escape(question),
                key=f"example-{i}",
                on_click=queue_question,
                args=(question,),
                width="stretch",
            )


def chat_page(client: ApiClient, api_up: bool) -> None:
    _restore(client)
    ss = st.session_state
    messages = ss.setdefault("messages", [])
    head, action = st.columns([3, 1], vertical_alignment="bottom")
    head.header("質問する")
    if messages or ss.get("failed"):
        action.button("新しい会話", key="new-conversation", on_click=new_conversation, icon=":material/add:")
    # The chat input is pinned to the bottom whatever the call order; reading it first tells whether this
    # run starts a conversation, so the examples show only while there is none (nor a question on its way).
    typed = st.chat_input("質問を入力してください", max_chars=2000)
    pending = ss.pop("pending", None)
    question = typed if typed and typed.strip() else pending
    if not messages and not ss.get("failed") and not (question and question.strip()):
        _examples()
    names = _measure_names(client.base_url) if api_up else {}
    for i, m in enumerate(messages):
        _show_message(client, i, m, names)
    if question and question.strip():
        ss.pop("failed", None)
        _ask(client, question, names)
    elif ss.get("failed"):
        with st.chat_message("user"):
            st.text(ss["failed"])
        st.warning(UNAVAILABLE, icon=":material/cloud_off:")
        st.button(
            "再試行",
            key="retry-question",
            on_click=queue_question,
            args=(ss["failed"],),
            icon=":material/refresh:",
        )
    if api_up:
        _sync(client)
    viewer = ss.pop("viewer", None)
    if viewer:
        _source_dialog(client, viewer)
