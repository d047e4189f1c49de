"""`policy-assistant feedback export`: the answer feedback users left in the chat, as CSV or JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.cli_common import DataOpt, _data_dir, _fail

__all__ = ["feedback_app"]

feedback_app = typer.Typer(
    no_args_is_help=True, help="Answer feedback users left in the chat (👍/👎, comments)."
)


@feedback_app.command("export")
def feedback_export(
    data_dir: DataOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write [default: stdout]")
    ] = None,
) -> None:
    """Export every stored feedback entry (oldest first) as CSV or JSON Lines."""
    from assistant.userdata import EXPORT_FORMATS, db_path, export_feedback

    if fmt not in EXPORT_FORMATS:
        _fail(f"--format {fmt!r} is not supported; use one of: {', '.join(EXPORT_FORMATS)}")
    path = db_path(_data_dir(data_dir))
    if not path.is_file():
        _fail(f"no feedback file {path}; it is created when a user rates an answer (check --data-dir)")
    text = export_feedback(path.parent, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
