"""Errors of the graph stage (extraction and stores), under the root in ``ingest.errors``."""

from __future__ import annotations

from ingest.errors import AmalgamError


class GraphStoreError(AmalgamError):
    """The graph store failed or cannot be reached."""


class StoreUnavailableError(GraphStoreError):
    """The graph database cannot be reached."""


class ExtractionError(AmalgamError):
    """Entity/relation extraction failed for a chunk."""
