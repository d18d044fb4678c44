"""Errors of the retrieval stage, under the root in ``ingest.errors``."""

from __future__ import annotations

from ingest.errors import AmalgamError


class RetrievalError(AmalgamError):
    """A retrieval request could not be served."""
