"""Merges through mergekit on tiny random Llamas: the arithmetic the methods promise, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.errors import MissingExtraError
from app.experts.merge import MergeError, MergeInput, MergeRecipe, check_compatible, run_merge
from tests.unit.tiny_llama import shifted, tiny_llama, weights

pytest.importorskip("mergekit")

TENSOR = "model.layers.0.mlp.up_proj.weight"  # 64 x 32: a tensor whose merge the tests follow


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    base = tiny_llama(root / "base", seed=0)
    generator = torch.Generator().manual_seed(1)
    direction = torch.rand(64, 32, generator=generator) + 0.1  # positive everywhere: the signs agree
    return {
        "base": base,
        "a": shifted(base, root / "a", {TENSOR: direction}),
        "b": shifted(base, root / "b", {TENSOR: 3 * direction}),
        "random": tiny_llama(root / "random", seed=7),
    }


def _merge(tmp_path: Path, method: str, base: Path | None, items: list[tuple[Path, float, float]]) -> dict:
    recipe = MergeRecipe(
        name="m",
        method=method,  # type: ignore[arg-type]
        base=str(base or ""),
        models=[MergeInput(path=p, weight=w, density=d) for p, w, d in items],
        seed=0,
    )
    out = tmp_path / method
    run_merge(recipe, base, [(m, m.path) for m in recipe.models], out)  # type: ignore[misc]
    assert (out / "amalgam-merge.yaml").is_file()  # the recipe is written beside the model
    return weights(out)


def test_one_expert_at_weight_one_is_that_expert(models: dict[str, Path], tmp_path: Path) -> None:
    merged = _merge(tmp_path, "linear", None, [(models["random"], 1.0, 1.0)])
    expected = weights(models["random"])
    assert merged.keys() == expected.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(merged[name], tensor)


def test_ties_at_density_one_with_agreeing_signs_is_the_weighted_mean(models: dict[str, Path], tmp_path: Path) -> None:
    merged = _merge(tmp_path, "ties", models["base"], [(models["a"], 1.0, 1.0), (models["b"], 3.0, 1.0)])
    a, b = weights(models["a"])[TENSOR], weights(models["b"])[TENSOR]
    torch.testing.assert_close(merged[TENSOR], (1.0 * a + 3.0 * b) / 4.0, rtol=1e-5, atol=1e-6)
    untouched = "model.layers.1.self_attn.q_proj.weight"
    torch.testing.assert_close(merged[untouched], weights(models["base"])[untouched])


def test_dare_keeps_the_expected_size_of_the_task_vector(models: dict[str, Path], tmp_path: Path) -> None:
    merged = _merge(tmp_path, "dare_linear", models["base"], [(models["b"], 1.0, 0.5)])
    base, expert = weights(models["base"])[TENSOR], weights(models["b"])[TENSOR]
    delta, kept = expert - base, merged[TENSOR] - base
    share_kept = float((kept.abs() > 1e-6).float().mean())
    assert 0.4 < share_kept < 0.6  # about half the parameters dropped...
    # ...and the rest rescaled by 1/density, so the task vector's expected (L1) size is kept
    assert float(kept.abs().sum()) == pytest.approx(float(delta.abs().sum()), rel=0.08)


def test_models_of_different_shapes_are_refused(models: dict[str, Path], tmp_path: Path) -> None:
    wide = tiny_llama(tmp_path / "wide", seed=3, hidden=64)
    with pytest.raises(MergeError, match=r"different architecture \(hidden_size 32 vs 64\)"):
        check_compatible({"a": models["a"], "wide": wide})


def test_models_with_different_tokenizers_are_refused(models: dict[str, Path], tmp_path: Path) -> None:
    other = tiny_llama(tmp_path / "other-vocab", seed=3, vocab=[f"x{i}" for i in range(120)])
    with pytest.raises(MergeError, match="different tokenizers"):
        check_compatible({"a": models["a"], "other": other})


def test_a_missing_mergekit_names_the_extra(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mergekit" else real(name, *a))
    recipe = MergeRecipe(name="m", method="linear", models=[MergeInput(path=models["a"])])
    with pytest.raises(MissingExtraError, match=r"amalgam\[experts\]"):
        run_merge(recipe, None, [(recipe.models[0], models["a"])], tmp_path / "out")
