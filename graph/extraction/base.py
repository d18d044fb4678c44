"""The ``Extractor`` contract: chunks in, entity and relation mentions out, with a status per chunk."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from graph.models import Extraction
from ingest.models import Chunk


class Extractor(ABC):
    name: str = "base"

    @abstractmethod
    def extract(self, chunks: Sequence[Chunk]) -> list[Extraction]:
        """One ``Extraction`` per chunk, same order. A chunk that fails yields ``status='failed'``
        with the error text; it never raises for a single bad chunk."""
