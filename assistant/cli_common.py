"""What every `policy-assistant` subcommand shares: the folder options and the one way a user error ends (one
line on stderr, exit code 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.config import get_settings

__all__ = ["CorpusOpt", "DataOpt", "_fail", "_data_dir"]

CorpusOpt = Annotated[
    Path | None, typer.Option("--corpus", help="folder with manifest.toml [default: ./corpus]")
]
DataOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="index folder [default: ./var or POLICY_ASSISTANT_DATA_DIR]")
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _data_dir(data_dir: Path | None) -> Path:
    return data_dir or get_settings().data_dir
