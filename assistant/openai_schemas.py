"""The OpenAI chat-completions wire format that `/v1` speaks: request, response, stream chunk, model, and
errors in OpenAI's shape (`OpenAIError`, `validation_error`).

Only what OpenAI-compatible clients (the `openai` SDK, LangChain's `ChatOpenAI`, Open WebUI) send and read.
Unknown request fields (`max_tokens`, `top_p`, `n`, `user`, ...) are accepted and ignored, like `temperature`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import AskResponse

__all__ = [
    "MODEL_ID",
    "ChatMessage",
    "ChatCompletionRequest",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "Delta",
    "Usage",
    "ModelCard",
    "ModelList",
    "ErrorBody",
    "ErrorDetail",
    "OpenAIError",
    "validation_error",
    "error_reason",
]

MODEL_ID = "policy-assistant"
_UNION_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


class ChatMessage(BaseModel):
    """One message of the conversation; `content` is text or a list of parts of which the text parts count."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(description=f"must be {MODEL_ID!r} (see GET /v1/models)")
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="the last message is the question (role user); earlier turns are the history",
    )
    # strict, as the schema says: lax mode read "true" or 1 as a boolean and true as a number
    stream: bool = Field(
        False,
        strict=True,
        description="server-sent events in the OpenAI chunk format, ending data: [DONE]",
    )
    temperature: float | None = Field(
        None, strict=True, description="accepted and ignored: answers are deterministic"
    )
    stream_options: dict[str, Any] | None = Field(None, description="include_usage adds a final usage chunk")


class Usage(BaseModel):
    """Character counts standing in for tokens (the answer is not generated token by token)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[Choice]
    usage: Usage
    policy_assistant: AskResponse = Field(
        description="the full POST /ask response: citations, records, answerable"
    )


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a streamed completion; the last content event carries `policy_assistant`."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str = MODEL_ID
    choices: list[ChunkChoice]
    usage: Usage | None = None
    policy_assistant: AskResponse | None = None


class ModelCard(BaseModel):
    id: str = MODEL_ID
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "policy-assistant"
    metadata: dict[str, Any] = Field(description="index_id and the versions that built the serving index")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""

    error: ErrorDetail


class OpenAIError(Exception):
    """An error rendered in OpenAI's shape; `param` names the bad field (`messages[2].content`)."""

    def __init__(
        self, status: int, message: str, *, kind: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def error_reason(err: Any) -> str:
    """A pydantic error's reason in words (the text fields' pattern asks for a non-space character)."""
    if err.get("type") == "string_pattern_mismatch":
        return "is empty (only whitespace); send the question as text"
    return str(err.get("msg", "invalid request")).removeprefix("Value error, ")


def validation_error(errors: Any) -> OpenAIError:
    """The first validation error as a 400 whose `param` is OpenAI-style (`messages[0].role`)."""
    err: dict[str, Any] = next(iter(errors), {})
    # drop "body" and the union member tags pydantic adds ("str", "list[dict[str,any]]") after a field name
    loc = [
        p
        for p in err.get("loc", ())
        if isinstance(p, int) or (p != "body" and p not in _UNION_TAGS and "[" not in p)
    ]
    param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or None
    msg = error_reason(err)
    if err.get("type") == "json_invalid":
        return OpenAIError(
            400, f"body: malformed JSON ({msg}); send a JSON object", kind="invalid_request_error"
        )
    if param is None:
        msg = f'body: {msg}; send JSON like {{"model": "{MODEL_ID}", "messages": [{{"role": "user", "content": "..."}}]}}'
    else:
        ctx = err.get("ctx") or {}
        limits = ", ".join(f"{k} {v}" for k, v in ctx.items() if k in ("min_length", "max_length"))
        msg = f"{param}: {msg}" + (f" ({limits})" if limits else "")
    return OpenAIError(400, msg, kind="invalid_request_error", param=param)
