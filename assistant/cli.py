"""The `policy-assistant` command: ingest, serve, ask, ui, demo, eval, feedback export.

User errors (a bad corpus, a missing index, a bad option) print one clear line and exit with code 2.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from assistant.cli_common import CorpusOpt, DataOpt, _data_dir, _fail
from assistant.cli_feedback import feedback_app
from assistant.config import get_settings
from ingest.errors import IngestError

__all__ = ["app"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Cited Q&A over みやぎ情報化推進ポリシー.",
)


@app.command()
def ingest(
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
    force: Annotated[bool, typer.Option(help="rebuild even if the corpus is unchanged")] = False,
    accept_changes: Annotated[
        bool,
        typer.Option(
            "--accept-changes",
            help="let a shrink beyond POLICY_ASSISTANT_MAX_SHRINK or repeated records replace the serving index",
        ),
    ] = False,
) -> None:
    """Parse the corpus into records, chunk, embed and index them; sanity gates guard the serving index."""
    from ingest.index import ingest as run_ingest

    settings = get_settings()
    corpus_dir = corpus or settings.corpus_dir
    target = _data_dir(data_dir)
    bar = _ProgressBar()
    try:
        result = run_ingest(
            corpus_dir,
            target,
            embedder_spec=settings.embedder,
            chroma_host=settings.chroma_host,
            chroma_port=settings.chroma_port,
            embedding_cache=settings.embedding_cache,
            progress=bar,
            force=force,
            accept_changes=accept_changes,
            max_shrink=settings.max_shrink,
            max_document_bytes=settings.max_document_bytes,
        )
    except IngestError as exc:
        bar.close()
        _fail(str(exc))
        return
    bar.close()
    if result.repaired:
        typer.echo(f"the serving index was damaged ({result.repaired}); rebuilt it")
    s, stated = result.summary, result.stated

    def said(*keys: str) -> str:
        """The counts the documents state about themselves, beside the parsed ones (a drifting parse shows)."""
        got = [str(stated[k]) if k in stated else "-" for k in keys]
        return f"   [the documents state {' / '.join(got)}]" if any(k in stated for k in keys) else ""

    state = "unchanged, nothing to do" if result.unchanged else f"built in {result.seconds:.1f} s"
    typer.echo(f"index {result.index_dir} ({state})")
    typer.echo(f"  documents          {s['documents']}")
    typer.echo(
        f"  measures           {s['measure_listings']} listings / {s['measures_distinct']} distinct "
        f"({s['measures_relisted']} re-listed)"
        + said("measure_listings", "measures_distinct", "measures_relisted")
    )
    held = f" ({s['kpi_placeholders']} （調整中）)" if s.get("kpi_placeholders") else ""
    typer.echo(f"  plan KPIs          {s['kpis']}{held}{said('kpis')}")
    typer.echo(f"  sections           {s['sections']}")
    typer.echo(f"  glossary terms     {s['glossary_terms']}")
    typer.echo(f"  initiatives        {s['initiatives']}{said('initiatives')}")
    typer.echo(f"  progress KPI boxes {s['progress_kpi_boxes']}{said('progress_kpi_boxes')}")
    typer.echo(f"  chunks             {result.chunks} ({result.embedded} newly embedded)")
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)


class _ProgressBar:
    """A one-line progress display on stderr for long steps (embedding)."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0 or not sys.stderr.isatty():
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\rembedding [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


@app.command()
def serve(
    data_dir: DataOpt = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="server processes; each opens the index and follows CURRENT", min=1, max=64)
    ] = 1,
) -> None:
    """Serve the HTTP API (POST /ask, POST /v1/chat/completions, GET /measures, ...)."""
    import os

    import uvicorn

    from assistant.api import create_app

    settings = get_settings()
    if not _is_loopback(host) and not settings.openai_api_key:
        _fail(
            f"--host {host} is not a loopback address and POLICY_ASSISTANT_OPENAI_API_KEY is unset, so anyone "
            "who can reach it could use /v1/chat/completions; set POLICY_ASSISTANT_OPENAI_API_KEY=<a secret> "
            "(clients send it as their API key) or bind --host 127.0.0.1"
        )
        return
    _log_to_stderr()
    target = _data_dir(data_dir)
    if workers > 1:
        from assistant.workers import APP_FACTORY, check_data_dir

        try:
            check_data_dir(target)  # fail fast with the fix, before any worker starts
        except IngestError as exc:
            _fail(str(exc))
            return
        os.environ["POLICY_ASSISTANT_DATA_DIR"] = str(target.resolve())  # read by Settings in every worker
        # each worker's embedder gets its share of the cores: N workers x all cores would oversubscribe them
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, host=host, port=port, log_level="warning")
        return
    try:
        application = create_app(target, settings)
    except IngestError as exc:
        _fail(str(exc))
        return
    uvicorn.run(application, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def _log_to_stderr() -> None:
    """One JSON access-log line per request (policy_assistant.access) and service notes on stderr."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("policy_assistant.access", "policy_assistant.service"):
        log = logging.getLogger(name)
        if not log.handlers:
            log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question, in Japanese or English")],
    data_dir: DataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full JSON response")] = False,
) -> None:
    """Answer one question from the local index (no server needed)."""
    from assistant.service import AskRequest, Assistant, InvalidQuestion

    try:
        bot = Assistant.open(_data_dir(data_dir))
        resp = bot.ask(AskRequest(question=question))
    except (IngestError, InvalidQuestion) as exc:
        _fail(str(exc))
        return
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'question'}: {e['msg']}" for e in exc.errors()))
        return
    if as_json:
        typer.echo(json.dumps(resp.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    typer.echo(resp.answer)
    for c in resp.citations:
        typer.echo(f"  [{c.doc_title} {c.measure_id or ''} {c.location}]")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8501,
    api_url: Annotated[str | None, typer.Option(help="API base URL [POLICY_ASSISTANT_API_URL]")] = None,
) -> None:
    """Start the Streamlit chat UI (talks to the API over HTTP)."""
    from assistant.launch import run_ui

    raise typer.Exit(run_ui(port=port, api_url=api_url or get_settings().api_url))


@app.command()
def demo(
    data_dir: DataOpt = None,
    api_port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    ui_port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
) -> None:
    """Serve the API and the UI together on loopback; Ctrl-C stops both."""
    from assistant.launch import run_demo

    ready = get_settings().ready_timeout
    raise typer.Exit(run_demo(_data_dir(data_dir), api_port=api_port, ui_port=ui_port, ready_timeout=ready))


app.add_typer(feedback_app, name="feedback")


@app.command(name="eval")
def evaluate(
    data_dir: DataOpt = None,
    retrieval: Annotated[bool, typer.Option("--retrieval", help="retrieval benchmark")] = False,
    answers: Annotated[bool, typer.Option("--answers", help="answer benchmark through /ask")] = False,
    questions: Annotated[Path, typer.Option(help="question set")] = Path("evals/questions.jsonl"),
    results: Annotated[Path, typer.Option(help="where to write the results table")] = Path(
        "evals/RESULTS.md"
    ),
) -> None:
    """Run the benchmarks on the development question set and write evals/RESULTS.md."""
    from evals.run import run_evals

    try:
        text = run_evals(
            _data_dir(data_dir),
            questions,
            results,
            retrieval=retrieval or not answers,
            answers=answers or not retrieval,
        )
    except IngestError as exc:
        _fail(str(exc))
        return
    typer.echo(text)


if __name__ == "__main__":
    app()
