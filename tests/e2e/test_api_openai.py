"""The OpenAI-compatible routes end to end: real uvicorn over a real workspace, the official ``openai`` client,
real SmolLM2-135M-Instruct experts (de-quantised once into the experts cache)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml

from app.api.main import create_app
from app.config import load_settings
from app.experts.checkpoint import base_checkpoint
from tests.e2e.conftest import serving

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
QUESTION = "Where does the Kestrel River rise?"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("openai")
    settings = load_settings(data_dir=data, api_key="k3y", chunker="fixed", experts=True, llm_max_tokens=24)
    base = base_checkpoint(settings.experts_cache)
    experts = [
        {
            "name": "rivers",
            "description": "Rivers, valleys, fells and the sea: geography of water.",
            "examples": ["Where does the river rise?", "Which river flows to the sea?"],
            "backend": {"kind": "checkpoint", "path": str(base)},
        },  # fmt: skip
        {
            "name": "engineering",
            "description": "Bridges, viaducts, railways and the engineers who designed them.",
            "examples": ["Who designed the bridge?", "How long is the viaduct?"],
            "backend": {"kind": "checkpoint", "path": str(base)},
        },  # fmt: skip
        {"name": "down", "backend": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}},
        {"name": "general", "backend": {"kind": "checkpoint", "path": str(base)}},
    ]
    settings.workspace_dir.mkdir(parents=True)
    (settings.workspace_dir / "experts.yaml").write_text(yaml.safe_dump({"experts": experts}))
    api = create_app(settings)
    api.state.engine.ingest([SAMPLE / "kestrel_river.html", SAMPLE / "halvorsen_viaduct.md"])
    with serving(api) as url:
        yield f"{url}/v1"
    api.state.engine.close()


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="k3y", max_retries=0, timeout=120)


def test_models_lists_auto_and_every_expert(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["auto", "rivers", "engineering", "down", "general"]


def test_a_routed_completion_carries_route_and_sources(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": QUESTION}]
    )
    completion = raw.parse()
    extra = completion.model_extra["amalgam"]  # type: ignore[index]
    assert completion.model == "rivers" and extra["route"]["expert"] == "rivers" and extra["route"]["scores"]
    assert extra["sources"][0]["title"] == "Kestrel River"
    assert completion.choices[0].message.content
    assert json.loads(raw.headers["x-amalgam-route"])["expert"] == "rivers"
    assert json.loads(raw.headers["x-amalgam-sources"])[0]["title"] == "Kestrel River"


def test_a_streamed_completion_ends_with_route_and_sources(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="engineering", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    extra = chunks[-1].model_extra["amalgam"]  # type: ignore[index]
    assert text and chunks[-1].choices[0].finish_reason == "stop"
    assert extra["route"]["expert"] == "engineering" and extra["route"]["router"] == "named" and extra["sources"]


def test_a_backend_that_is_down_falls_back_to_general(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="down", messages=[{"role": "user", "content": QUESTION}])
    route = completion.model_extra["amalgam"]["route"]  # type: ignore[index]
    assert completion.model == "general" and any("'down' is unavailable" in n for n in route["notes"])


def test_unknown_model_and_wrong_key_are_refused(client: openai.OpenAI, base_url: str) -> None:
    with pytest.raises(openai.BadRequestError, match="known: auto, rivers, engineering, down, general"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0).models.list()


def test_ask_carries_the_route_when_experts_are_on(base_url: str) -> None:
    import httpx

    answer = httpx.post(
        f"{base_url}/ask", json={"question": QUESTION}, headers={"X-API-Key": "k3y"}, timeout=120
    ).json()
    assert answer["route"]["expert"] == "rivers" and answer["generated_by"] == "expert:rivers" and answer["sources"]
