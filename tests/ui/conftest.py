"""A real API for the UI tests: the FastAPI app served by uvicorn on a loopback port over a small workspace
ingested through the product (the sample documents)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api.main import create_app
from app.config import load_settings
from tests.e2e.conftest import serving

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "sample"
SAMPLE_QUESTION = "Where was the designer of the Halvorsen Viaduct born?"


@pytest.fixture(scope="session")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("ui-api"), chunker="sentence")
    batch = settings.jobs_root / "batch"
    batch.mkdir(parents=True)
    (batch / "kestrel.html").write_bytes((SAMPLE / "kestrel_river.html").read_bytes())
    (batch / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    api = create_app(settings)
    api.state.engine.ingest([SAMPLE / "ingrid_solberg.txt", SAMPLE / "halvorsen_viaduct.md"])
    with serving(api) as base:
        yield base
    api.state.engine.close()
