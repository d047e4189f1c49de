"""Errors of ingest. Each carries the bad value and the fix; the CLI turns them into exit code 2."""

from __future__ import annotations

__all__ = ["IngestError", "CorpusError", "DataDirError", "GateError"]


class IngestError(Exception):
    """Base class: a problem with the input that the user can fix."""


class CorpusError(IngestError):
    """The corpus folder, its manifest or one of its files is unusable."""


class DataDirError(IngestError):
    """The data dir is missing, corrupt or from an incompatible version."""


class GateError(IngestError):
    """A new catalog failed a sanity gate (missing, repeated or shrunk records); the serving index stays."""
