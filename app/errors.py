"""The whole exception tree in one place for ``app``: each stage owns its errors (the root lives in the
lowest layer, ``ingest.errors``, so no stage imports upward); HTTP status codes are chosen only in
``app.api`` and exit codes only in the CLI."""

from __future__ import annotations

from graph.errors import ExtractionError, GraphStoreError, StoreUnavailableError
from ingest.errors import (
    AmalgamError,
    ConfigError,
    IngestError,
    MissingExtraError,
    StorageError,
    UnknownComponentError,
    WorkspaceBusyError,
)
from retrieval.errors import RetrievalError

__all__ = [
    "AmalgamError",
    "ConfigError",
    "ExtractionError",
    "GraphStoreError",
    "IngestError",
    "MissingExtraError",
    "RetrievalError",
    "StorageError",
    "StoreUnavailableError",
    "UnknownComponentError",
    "WorkspaceBusyError",
]
