"""Architecture properties: output shapes, masking, permutation invariance."""

from __future__ import annotations

import pytest
import torch

from trigkit.core.errors import TrigkitError
from trigkit.models.configs import with_overrides
from trigkit.models.registry import get_spec, names

TINY = {
    "btag-gn2lite": {"dim": 8, "heads": 2, "layers": 1, "ff": 16, "head": (8,)},
    "xbb-attention": {"dim": 8, "heads": 2, "layers": 1, "ff": 16, "head": (8,)},
}
SET_MODELS = ["btag-deepsets", "btag-gn2lite", "xbb-pfn", "xbb-attention", "l1-deepsets"]


def _module(name: str) -> tuple[torch.nn.Module, object]:
    spec = get_spec(name)
    cfg = with_overrides(spec.config, TINY.get(name, {}), name)
    torch.manual_seed(0)
    return cfg.build().eval(), cfg


def _set_inputs(cfg, n_jets: int = 7, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_jets, cfg.max_objects, cfg.n_features, generator=g)
    counts = torch.randint(0, cfg.max_objects + 1, (n_jets,), generator=g)
    counts[0], counts[1] = 0, cfg.max_objects  # an empty jet and a full one
    mask = (torch.arange(cfg.max_objects)[None, :] < counts[:, None]).float()
    return x * mask[..., None], mask


@pytest.mark.parametrize("name", names())
def test_output_shape(name):
    module, cfg = _module(name)
    if cfg.max_objects:
        out = module(*_set_inputs(cfg))
    else:
        out = module(torch.randn(7, cfg.n_features))
    assert out.shape == (7, cfg.n_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", SET_MODELS)
def test_padding_content_does_not_matter(name):
    module, cfg = _module(name)
    x, mask = _set_inputs(cfg)
    garbage = torch.randn(x.shape, generator=torch.Generator().manual_seed(5)) * 3.0
    x2 = torch.where(mask[..., None] > 0, x, garbage)
    with torch.no_grad():
        torch.testing.assert_close(module(x2, mask), module(x, mask), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", SET_MODELS)
def test_extra_padding_slots_do_not_matter(name):
    module, cfg = _module(name)
    x, mask = _set_inputs(cfg)
    xp = torch.cat([x, torch.zeros(x.shape[0], 4, x.shape[2])], dim=1)
    mp = torch.cat([mask, torch.zeros(mask.shape[0], 4)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(module(xp, mp), module(x, mask), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", SET_MODELS)
def test_permutation_invariance(name):
    module, cfg = _module(name)
    x, mask = _set_inputs(cfg)
    perm = torch.randperm(cfg.max_objects, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(
            module(x[:, perm], mask[:, perm]), module(x, mask), rtol=1e-5, atol=1e-5
        )


def test_config_overrides_are_validated():
    spec = get_spec("btag-deepsets")
    assert with_overrides(spec.config, {"phi": (8, 8)}, "x").phi == (8, 8)
    with pytest.raises(TrigkitError, match="phy"):
        with_overrides(spec.config, {"phy": (8,)}, "btag-deepsets")
    with pytest.raises(TrigkitError, match="divisible"):
        with_overrides(get_spec("btag-gn2lite").config, {"dim": 10, "heads": 4}, "btag-gn2lite")
    with pytest.raises(TrigkitError, match="unknown model 'dips'; valid: btag-deepsets"):
        get_spec("dips")
