"""The OpenAI-compatible endpoint, driven by clients nobody here wrote: the official `openai` SDK and LangChain's
`ChatOpenAI`, against a live `policy-assistant serve` on loopback over the real index of corpus/.

The reply is `/ask`'s answer with its sources as Markdown footnotes, and the whole `/ask` response rides along in
`policy_assistant`; streaming gives the same text; a follow-up turn resolves to the previous turn's measure.
Errors come in OpenAI's shape, so the SDK raises its own typed exceptions with `param` naming the field.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from assistant.api import create_app
from assistant.config import Settings
from assistant.launch import api_command, stop_process
from tests.conftest import free_port, serve_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.server]

MODEL = "policy-assistant"
OWNER_Q = "無料公衆無線LANの整備はどこの課？"  # 企15, by its name
FOLLOW_UP = "事業開始はいつ？"
KEY = "sk-test-policy-assistant-key"


@pytest.fixture(scope="module")
def server(built_data_dir: Path) -> Iterator[str]:
    """`policy-assistant serve` as a child process on a free loopback port; stopped by its PID after."""
    port = free_port()
    proc = subprocess.Popen(
        api_command(built_data_dir, port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"serve exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /health in 120 s"
            time.sleep(0.2)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key="not-needed-on-loopback", max_retries=0)


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


# --- the openai SDK ----------------------------------------------------------------------------------------


def test_the_sdk_gets_the_answer_with_footnoted_sources_and_the_full_ask_response(
    client: openai.OpenAI, server: str
) -> None:
    done = client.chat.completions.create(model=MODEL, messages=[_user(OWNER_Q)], temperature=0.7)
    ask = httpx.post(f"{server}/ask", json={"question": OWNER_Q}, timeout=60).json()
    content = done.choices[0].message.content or ""
    assert (
        done.model == MODEL and done.choices[0].finish_reason == "stop" and done.object == "chat.completion"
    )
    assert content.startswith(ask["answer"]) and "情報政策課" in content
    first = ask["citations"][0]
    assert (
        f"[^1]: {first['doc_title']}, {first['measure_id']}, {first['section']}, {first['location']}"
        in content
    )
    extra = (done.model_extra or {})["policy_assistant"]
    assert extra["answer"] == ask["answer"] and extra["answerable"] is True
    assert extra["citations"] == ask["citations"] and extra["measures"][0]["measure_id"] == "企15"


def test_the_sdk_lists_one_model_carrying_the_index_id(client: openai.OpenAI, server: str) -> None:
    models = client.models.list().data
    health = httpx.get(f"{server}/health").json()
    assert [m.id for m in models] == [MODEL]
    assert (models[0].model_extra or {})["metadata"]["index_id"] == health["index"]["id"]
    assert client.models.retrieve(MODEL).id == MODEL


def test_streaming_gives_the_same_reply_in_chunks_and_ends_with_done(
    client: openai.OpenAI, server: str
) -> None:
    whole = client.chat.completions.create(model=MODEL, messages=[_user(OWNER_Q)]).choices[0].message.content
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=[_user(OWNER_Q)], stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole and len(chunks) >= 3
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(text)
    stop = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert (stop.model_extra or {})["policy_assistant"]["citations"]
    body = {"model": MODEL, "messages": [_user(OWNER_Q)], "stream": True}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"


def test_a_follow_up_turn_resolves_to_the_previous_turns_measure(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model=MODEL, messages=[_user(OWNER_Q)])
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},  # what chat front ends add; ignored
        _user(OWNER_Q),
        {"role": "assistant", "content": first.choices[0].message.content or ""},
        _user(FOLLOW_UP),
    ]
    second = client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    extra = (second.model_extra or {})["policy_assistant"]
    assert extra["answerable"] is True and "H29" in (second.choices[0].message.content or "")
    assert extra["citations"][0]["measure_id"] == "企15"
    alone = client.chat.completions.create(model=MODEL, messages=[_user(FOLLOW_UP)])
    assert (alone.model_extra or {})["policy_assistant"]["citations"][0]["measure_id"] != "企15"


def test_an_unknown_model_is_a_404_in_openais_error_shape(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[_user(OWNER_Q)])
    assert err.value.code == "model_not_found" and err.value.param == "model"
    assert "policy-assistant" in err.value.message and "gpt-4o" in err.value.message


@pytest.mark.parametrize(
    ("messages", "param", "says"),
    [
        ([], "messages", "at least 1"),
        ([{"role": "robot", "content": "x"}], "messages[0].role", "'user'"),
        ([_user("企15"), {"role": "assistant", "content": "…"}], "messages[1].role", "last message"),
        ([_user("   ")], "messages[0].content", "empty"),
        ([_user("企" * 2001)], "messages[0].content", "2000"),
        ([_user("x" * 20001), _user("企15は？")], "messages[0].content", "20000"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            "messages[0].content",
            "text",
        ),
        ([{"role": "user", "content": 5}], "messages[0].content", "string"),
    ],
)
def test_bad_messages_are_a_400_naming_the_field(
    client: openai.OpenAI, messages: list, param: str, says: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=messages)
    assert err.value.param == param and err.value.type == "invalid_request_error"
    body = err.value.body
    assert isinstance(body, dict) and body["message"].startswith(param) and says in body["message"]


def test_a_body_that_is_not_a_chat_request_is_a_400_in_openais_shape(server: str) -> None:
    for kwargs in (
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {"json": [1, 2]},
    ):
        r = httpx.post(f"{server}/v1/chat/completions", timeout=30, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 400 and set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = httpx.post(f"{server}/v1/chat/completions", json={"messages": [_user("企15")]}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


def test_a_stream_or_temperature_of_the_wrong_type_is_a_400_naming_it(server: str) -> None:
    for field, value in (("stream", "true"), ("stream", 1), ("temperature", True)):
        body = {"model": MODEL, "messages": [_user("企15")], field: value}
        r = httpx.post(f"{server}/v1/chat/completions", json=body, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["param"] == field, (field, value, r.text)
    body = {"model": MODEL, "messages": [_user("企15")], "temperature": 0}  # an integer is a number
    assert httpx.post(f"{server}/v1/chat/completions", json=body, timeout=30).status_code == 200


def test_text_parts_of_a_message_make_the_question(client: openai.OpenAI) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": OWNER_Q}]}]
    done = client.chat.completions.create(model=MODEL, messages=parts)  # type: ignore[arg-type]
    assert "情報政策課" in (done.choices[0].message.content or "")


# --- LangChain's ChatOpenAI --------------------------------------------------------------------------------


def test_langchain_chat_openai_invokes_streams_and_follows_up(server: str) -> None:
    chat = ChatOpenAI(
        model=MODEL, base_url=f"{server}/v1", api_key="not-needed", temperature=0, max_retries=0
    )
    reply = chat.invoke(OWNER_Q)
    assert (
        isinstance(reply, AIMessage) and "情報政策課" in str(reply.content) and "[^1]:" in str(reply.content)
    )
    streamed = "".join(str(c.content) for c in chat.stream(OWNER_Q))
    assert streamed == reply.content
    follow = chat.invoke([HumanMessage(OWNER_Q), reply, HumanMessage(FOLLOW_UP)])
    assert "H29" in str(follow.content) and "企15" in str(follow.content)


# --- the API key -------------------------------------------------------------------------------------------


def test_with_a_key_set_the_v1_routes_need_it_and_ask_is_unchanged(built_data_dir: Path) -> None:
    settings = Settings(data_dir=built_data_dir, openai_api_key=KEY)
    with serve_in_thread(create_app(built_data_dir, settings)) as url:
        for key in ("wrong-key", None):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            r = httpx.get(f"{url}/v1/models", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
            assert "POLICY_ASSISTANT_OPENAI_API_KEY" in r.json()["error"]["message"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong-key", max_retries=0).models.list()
        right = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
        assert (
            right.chat.completions.create(model=MODEL, messages=[_user(OWNER_Q)]).choices[0].message.content
        )
        assert httpx.post(f"{url}/ask", json={"question": OWNER_Q}, timeout=60).status_code == 200


def test_serve_refuses_a_non_loopback_address_without_a_key(built_data_dir: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "assistant.cli",
        "serve",
        "--data-dir",
        str(built_data_dir),
        "--host",
        "0.0.0.0",
    ]
    env = {k: v for k, v in os.environ.items() if k != "POLICY_ASSISTANT_OPENAI_API_KEY"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "POLICY_ASSISTANT_OPENAI_API_KEY" in done.stderr
    assert "--host 127.0.0.1" in done.stderr and "Traceback" not in done.stderr


def test_the_openapi_schema_documents_the_v1_routes(server: str) -> None:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    chat = paths["/v1/chat/completions"]["post"]
    assert chat["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ChatCompletion"
    )
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    for status in ("400", "401", "404"):
        assert chat["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorBody"
        )
    assert paths["/v1/models"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("/ModelList")
