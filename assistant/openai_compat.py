"""An OpenAI-compatible face of `POST /ask`: `POST /v1/chat/completions` and `GET /v1/models`.

Chat front ends (Open WebUI, LibreChat, bots on the `openai` SDK, LangChain's `ChatOpenAI`) talk to this without
knowing our API. The last user message is the question and the earlier user/assistant turns are the history
(the most recent `MAX_HISTORY_TURNS`); the same `Assistant.ask` as `/ask` answers. The reply is the answer with its
sources as Markdown footnotes; the full `/ask` response rides along in `policy_assistant`. `stream: true`
sends the same reply as server-sent events in OpenAI's chunk format, ending with `data: [DONE]`.

Every error on these routes is OpenAI's shape `{"error": {"message", "type", "param", "code"}}` (400 bad
request naming the field, 401 bad key, 404 unknown model), never the `/ask` shape. With
`POLICY_ASSISTANT_OPENAI_API_KEY` set, requests need `Authorization: Bearer <that key>`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from assistant.config import Settings
from assistant.openai_schemas import (
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChunkChoice,
    Delta,
    ErrorBody,
    ModelCard,
    ModelList,
    OpenAIError,
    Usage,
    error_reason,
    validation_error,
)
from assistant.schemas import MAX_HISTORY_TURNS, AskRequest, AskResponse, Citation, Turn
from assistant.service import Assistant, InvalidQuestion

__all__ = ["router", "OpenAIError", "reply_content", "to_ask_request"]

_SOURCES = "\n\n[^1]: "  # where the footnotes we append start; cut from assistant turns sent back as history
_REFS_AT_END = re.compile(r"(?:\s*\[\^\d+\])+\s*$")


class _OpenAIRoute(APIRoute):
    """Routes whose validation and domain errors come out in OpenAI's error shape (not the app-wide one)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return validation_error(exc.errors()).response()
            except OpenAIError as exc:
                return exc.response()

        return route


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad messages or body; `error.param` names the field"},
    401: {"model": ErrorBody, "description": "missing or wrong API key (only when the server sets one)"},
    404: {"model": ErrorBody, "description": f"unknown model; the only one is {MODEL_ID!r}"},
    413: {"description": "body over 64 KiB"},
}
router = APIRouter(prefix="/v1", tags=["openai"], route_class=_OpenAIRoute, responses=_ERRORS)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def _authorized(
    settings: Annotated[Settings, Depends(_settings)],
    authorization: Annotated[
        str | None,
        Header(
            description="`Bearer <POLICY_ASSISTANT_OPENAI_API_KEY>`; needed only when the server sets a key"
        ),
    ] = None,
) -> None:
    """Optional bearer auth: off unless the server sets a key (so the schema declares an optional header, not a
    security scheme every request must meet)."""
    key = settings.openai_api_key
    if not key:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise OpenAIError(
            401,
            "missing header Authorization: Bearer <key>; use the server's POLICY_ASSISTANT_OPENAI_API_KEY "
            "as the client's API key",
            kind="invalid_request_error",
            code="invalid_api_key",
        )
    if not secrets.compare_digest(token.strip().encode(), key.encode()):
        raise OpenAIError(
            401,
            "wrong API key in Authorization: Bearer <key>; use the server's POLICY_ASSISTANT_OPENAI_API_KEY",
            kind="invalid_request_error",
            code="invalid_api_key",
        )


Authorized = Depends(_authorized)


@router.get("/models", response_model=ModelList, dependencies=[Authorized])
def list_models(assistant: Annotated[Assistant, Depends(_assistant)]) -> ModelList:
    """The one model this server answers as, with the id of the index that serves."""
    return ModelList(data=[_model_card(assistant)])


@router.get("/models/{model}", response_model=ModelCard, dependencies=[Authorized])
def get_model(model: str, assistant: Annotated[Assistant, Depends(_assistant)]) -> ModelCard:
    _check_model(model, "model")
    return _model_card(assistant)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    dependencies=[Authorized],
    responses={200: {"content": {"text/event-stream": {"schema": ChatCompletionChunk.model_json_schema()}}}},
)
def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    assistant: Annotated[Assistant, Depends(_assistant)],
    settings: Annotated[Settings, Depends(_settings)],
) -> Any:
    """Answer the conversation's last user message (`/ask` with the earlier turns as history)."""
    _check_model(body.model, "model")
    req = to_ask_request(body.messages)
    request.state.question_chars = len(req.question)
    last = f"messages[{len(body.messages) - 1}].content"
    if len(req.question) > settings.max_question_chars:
        raise OpenAIError(
            400,
            f"{last}: has {len(req.question)} characters (limit {settings.max_question_chars}); shorten it",
            kind="invalid_request_error",
            param=last,
        )
    try:
        resp = assistant.ask(req)
    except InvalidQuestion as exc:
        raise OpenAIError(400, f"{last}: {exc}", kind="invalid_request_error", param=last) from exc
    request.state.answerable = resp.answerable
    content = reply_content(resp)
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    usage = _usage(body.messages, content)
    if body.stream:
        with_usage = bool((body.stream_options or {}).get("include_usage"))
        events = _events(cid, created, content, resp, usage if with_usage else None)
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    return ChatCompletion(
        id=cid,
        created=created,
        choices=[Choice(message=AssistantMessage(content=content))],
        usage=usage,
        policy_assistant=resp,
    )


def to_ask_request(messages: list[ChatMessage]) -> AskRequest:
    """The `/ask` request of a conversation: last message = question, earlier user/assistant turns = history."""
    last = len(messages) - 1
    if messages[last].role != "user":
        raise OpenAIError(
            400,
            f"messages[{last}].role: is {messages[last].role!r}; the last message must be the user's question "
            "(role 'user')",
            kind="invalid_request_error",
            param=f"messages[{last}].role",
        )
    turns: list[Turn] = []
    for i, m in enumerate(messages[:last]):
        if m.role in ("user", "assistant"):
            text = _text(m, i)
            if m.role == "assistant":
                text = _REFS_AT_END.sub("", text.split(_SOURCES, 1)[0])
            if text.strip():
                turns.append(_turn(m.role, text, i))
    question = _text(messages[last], last)
    try:
        return AskRequest(question=question, history=turns[-MAX_HISTORY_TURNS:])
    except ValidationError as exc:
        reason = error_reason(exc.errors()[0])
        param = f"messages[{last}].content"
        raise OpenAIError(400, f"{param}: {reason}", kind="invalid_request_error", param=param) from exc


def reply_content(resp: AskResponse) -> str:
    """The answer followed by its sources as Markdown footnotes (document title, section, location)."""
    if not resp.citations:
        return resp.answer
    refs = "".join(f"[^{n}]" for n in range(1, len(resp.citations) + 1))
    notes = "\n".join(f"[^{n}]: {_source(c)}" for n, c in enumerate(resp.citations, 1))
    return f"{resp.answer} {refs}\n\n{notes}"


def _source(c: Citation) -> str:
    return ", ".join(p for p in (c.doc_title, c.measure_id, c.section, c.location) if p)


def _text(m: ChatMessage, i: int) -> str:
    if isinstance(m.content, str):
        return m.content
    parts = m.content or []
    texts = [str(p.get("text", "")) for p in parts if p.get("type") == "text"]
    if parts and not texts:
        raise OpenAIError(
            400,
            f"messages[{i}].content: has no text part (only text is understood); send a string or "
            '[{"type": "text", "text": "..."}]',
            kind="invalid_request_error",
            param=f"messages[{i}].content",
        )
    return "\n".join(texts)


def _turn(role: str, text: str, i: int) -> Turn:
    try:
        return Turn.model_validate({"role": role, "content": text})
    except ValidationError as exc:
        limit = Turn.model_fields["content"].metadata[0].max_length
        raise OpenAIError(
            400,
            f"messages[{i}].content: has {len(text)} characters (limit {limit} per earlier turn); shorten it",
            kind="invalid_request_error",
            param=f"messages[{i}].content",
        ) from exc


def _check_model(model: str, param: str) -> None:
    if model != MODEL_ID:
        raise OpenAIError(
            404,
            f"The model {model!r} does not exist here; use {MODEL_ID!r} (listed by GET /v1/models)",
            kind="invalid_request_error",
            param=param,
            code="model_not_found",
        )


def _model_card(assistant: Assistant) -> ModelCard:
    meta = assistant.index.meta
    try:
        created = int(datetime.strptime(str(meta.get("created")), "%Y-%m-%dT%H:%M:%S%z").timestamp())
    except ValueError:
        created = 0
    keys = ("index_id", "versions", "chunks")
    return ModelCard(
        created=created, metadata={"index": assistant.index.path.name} | {k: meta.get(k) for k in keys}
    )


def _usage(messages: list[ChatMessage], content: str) -> Usage:
    prompt = sum(len(m.content) if isinstance(m.content, str) else 0 for m in messages)
    return Usage(prompt_tokens=prompt, completion_tokens=len(content), total_tokens=prompt + len(content))


def _events(cid: str, created: int, content: str, resp: AskResponse, usage: Usage | None) -> Iterator[str]:
    """SSE: the role, the content a line (or sentence) at a time, the stop with the /ask response, [DONE]."""

    def event(choices: list[ChunkChoice], **extra: Any) -> str:
        chunk = ChatCompletionChunk(id=cid, created=created, choices=choices, **extra)
        return f"data: {json.dumps(chunk.model_dump(mode='json'), ensure_ascii=False)}\n\n"

    yield event([ChunkChoice(delta=Delta(role="assistant", content=""))])
    for piece in re.split(r"(?<=[。\n])", content):
        if piece:
            yield event([ChunkChoice(delta=Delta(content=piece))])
    yield event([ChunkChoice(delta=Delta(), finish_reason="stop")], policy_assistant=resp)
    if usage is not None:
        yield event([], usage=usage)
    yield "data: [DONE]\n\n"
