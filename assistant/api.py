"""The HTTP API of the answering service: `POST /ask`, catalog browsing, health, offline docs, admin re-index.

`create_app(data_dir)` builds the app and opens the index once (`Assistant.open`), before any server
starts, so a missing or corrupt data dir is a `DataDirError` naming the dir and the fix (never a traceback at
startup); every endpoint reads it through `Depends(get_assistant)`. Endpoints are plain `def` (blocking work runs in the
threadpool). Every error response is JSON with a readable `message` that names the field and the limit;
no input yields a 5xx. One JSON access-log line per request (logger `policy_assistant.access`) carries
method, path, status and latency, never the question text.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.middleware.cors import CORSMiddleware

from assistant import conversations, feedback, passages
from assistant.admission import Admission
from assistant.catalog import (
    UnknownMeasure,
    document_list,
    find_measures,
    health_view,
    measure_detail,
    plan_kpis,
)
from assistant.config import Settings, get_settings
from assistant.http_edge import AccessLog, BodyGuard, add_docs, add_error_handlers
from assistant.hygiene import bounded
from assistant.openai_compat import router as openai_router
from assistant.schemas import ERROR_RESPONSES, AskRequest, AskResponse
from assistant.service import Assistant, InvalidQuestion
from ingest.errors import DataDirError, IngestError
from ingest.index import current_index_dir

__all__ = ["create_app", "get_assistant", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 64 * 1024


def get_assistant(request: Request) -> Assistant:
    """The assistant create_app opened (dependency)."""
    return request.app.state.assistant


def _app_settings(request: Request) -> Settings:
    return request.app.state.settings


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
SettingsDep = Annotated[Settings, Depends(_app_settings)]


def create_app(data_dir: Path, settings: Settings | None = None) -> FastAPI:
    """The API over the index in `data_dir`; raises DataDirError at once when the data dir has no index."""
    settings = settings or get_settings()
    data_dir = Path(data_dir)
    chat = None
    if settings.llm_base_url:
        from assistant.llm import chat_model_from_settings

        chat = chat_model_from_settings(settings.llm_base_url, settings.llm_model, settings.llm_api_key)
    assistant = _open_assistant(data_dir, chat)  # fail fast (the CLI prints the fix) before the server starts

    app = FastAPI(
        title="policy-assistant",
        version="1",
        docs_url=None,
        redoc_url=None,
        description="Cited answers over the plan and its progress reports. Errors carry `message`.",
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.data_dir = data_dir
    app.state.assistant = assistant
    add_error_handlers(app)
    add_docs(app)
    _add_routes(app)
    app.include_router(openai_router)  # POST /v1/chat/completions, GET /v1/models (OpenAI-compatible)
    app.include_router(passages.router)
    app.include_router(feedback.router)
    app.include_router(conversations.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization"],
        )
    app.add_middleware(BodyGuard, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(Admission, settings=settings)
    app.add_middleware(AccessLog)
    return app


def _open_assistant(data_dir: Path, chat: Any) -> Assistant:
    """Open the index; any unreadable part (not only the ones open_index checks) is a DataDirError with the fix."""
    current_index_dir(data_dir)  # no CURRENT / corrupt CURRENT: its own message
    try:
        return Assistant.open(data_dir, chat_model=chat)
    except IngestError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataDirError(
            f"index in data dir {data_dir} is incomplete or corrupt ({type(exc).__name__}: {exc}); "
            f"rebuild it with `policy-assistant ingest --data-dir {data_dir} --force`"
        ) from exc


# --- routes ------------------------------------------------------------------------------------------------


def _add_routes(app: FastAPI) -> None:
    @app.post(
        "/ask",
        response_model=AskResponse,
        tags=["answer"],
    )
    def ask(req: AskRequest, assistant: AssistantDep, settings: SettingsDep, request: Request) -> AskResponse:
        """Answer a question with citations; `answerable=false` when the corpus does not say."""
        request.state.question_chars = len(req.question)
        limit = settings.max_question_chars
        if len(req.question) > limit:
            raise InvalidQuestion(f"question: has {len(req.question)} characters (limit {limit}); shorten it")
        resp = assistant.ask(
            bounded(req, settings.work_question_chars, settings.work_history_turns, settings.work_turn_chars)
        )
        request.state.answerable = resp.answerable
        return resp

    @app.get("/health", tags=["catalog"])
    async def health(request: Request) -> dict[str, Any]:
        """Counts of what the index serves and the versions that built it (answered on the event loop, never
        waiting for a worker thread behind /ask)."""
        index = get_assistant(request).index
        return health_view(index.catalog, index.meta)

    @app.get("/documents", tags=["catalog"])
    def documents(assistant: AssistantDep) -> list[dict[str, Any]]:
        return document_list(assistant.index.catalog)

    @app.get("/measures", tags=["catalog"])
    def measures(
        assistant: AssistantDep,
        goal: Annotated[str | None, Query(max_length=200, description="substring of the goal")] = None,
        department: Annotated[str | None, Query(max_length=200, description="substring of an owner")] = None,
        text: Annotated[
            str | None, Query(max_length=200, description="substring of id/name/overview")
        ] = None,
    ) -> list[dict[str, Any]]:
        """One entry per distinct measure id (listings merged); filters are NFKC substring matches."""
        return find_measures(assistant.index.catalog, goal=goal, department=department, text=text)

    @app.get("/measures/{measure_id}", tags=["catalog"])
    def measure(
        measure_id: Annotated[str, PathParam(max_length=50)], assistant: AssistantDep
    ) -> dict[str, Any]:
        """The merged measure with its plan KPIs and the progress KPI boxes linked to it."""
        try:
            return measure_detail(assistant.index.catalog, measure_id)
        except UnknownMeasure as exc:
            raise HTTPException(404, detail=exc.payload()) from exc

    @app.get("/kpis", tags=["catalog"])
    def kpis(
        assistant: AssistantDep,
        measure: Annotated[str | None, Query(max_length=50, description="a measure id")] = None,
    ) -> list[dict[str, Any]]:
        """Plan KPIs (optionally of one measure), each with its linked progress KPI boxes."""
        try:
            return plan_kpis(assistant.index.catalog, measure)
        except UnknownMeasure as exc:
            raise HTTPException(404, detail=exc.payload()) from exc

    @app.post(
        "/admin/reindex",
        tags=["admin"],
        responses={
            401: {"description": "no token"},
            403: {"description": "wrong token"},
            404: {"description": "disabled"},
            409: {"description": "ingest failed"},
        },
    )
    def reindex(
        assistant: AssistantDep,
        settings: SettingsDep,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Re-run ingest on the configured corpus into the data dir, then switch to the new index."""
        _check_admin(settings, authorization)
        from ingest.index import ingest

        try:
            result = ingest(
                settings.corpus_dir,
                request.app.state.data_dir,
                embedder_spec=settings.embedder,
                chroma_host=settings.chroma_host,
                chroma_port=settings.chroma_port,
                embedding_cache=settings.embedding_cache,
                max_shrink=settings.max_shrink,
                max_document_bytes=settings.max_document_bytes,
            )
            switched = assistant.reload()
        except IngestError as exc:
            raise HTTPException(409, detail=f"re-index failed, the old index still serves: {exc}") from exc
        return {
            "index": result.index_dir.name,
            "unchanged": result.unchanged,
            "switched": switched,
            "chunks": result.chunks,
            "embedded": result.embedded,
            "seconds": round(result.seconds, 2),
            "summary": result.summary,
            "warnings": len(result.warnings),
        }


def _check_admin(settings: Settings, authorization: str | None) -> None:
    if not settings.admin_token:
        raise HTTPException(404, detail="admin endpoints are disabled: set POLICY_ASSISTANT_ADMIN_TOKEN")
    if not authorization:
        raise HTTPException(
            401,
            detail="missing header Authorization: Bearer <POLICY_ASSISTANT_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        token.strip().encode(), settings.admin_token.encode()
    ):
        raise HTTPException(403, detail="wrong admin token in Authorization: Bearer <token>")


# --- docs served from local assets -------------------------------------------------------------------------
