"""Torch building blocks shared by the taggers: per-jet MLP, masked DeepSets, masked attention.

Every module takes preprocessed float32 tensors as positional arguments (features, then a float
``mask`` with 1 = real object, 0 = padding, for set models) and returns logits. Padded objects
never influence the output: DeepSets multiplies each object's embedding by the mask before
pooling; attention adds a large negative number to padded keys and multiplies the attention
weights by the mask, so padded keys get exactly zero weight. There is no positional encoding, so
the set models are invariant under permutations of the objects.

Only Linear, ReLU, LayerNorm, MatMul, Softmax and elementwise ops are used, which keeps the models
exportable to ONNX/TensorRT and (for the MLP and DeepSets) convertible by hls4ml.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trigkit.core.errors import TrigkitError

MASK_NEG = -1.0e4  # large negative logit for padded keys; representable in float16


def mlp(sizes: list[int], *, final_relu: bool) -> nn.Sequential:
    """Linear layers through ``sizes`` with ReLU between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class JetMLP(nn.Module):
    """Per-jet feature vector -> logits."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], n_classes: int) -> None:
        super().__init__()
        self.net = mlp([n_features, *hidden, n_classes], final_relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DeepSets(nn.Module):
    """phi (per object) -> masked sum or mean -> rho -> logits (DIPS / Energy-Flow-Network
    style)."""

    def __init__(
        self,
        n_features: int,
        phi: tuple[int, ...],
        rho: tuple[int, ...],
        n_classes: int,
        pooling: str = "sum",
    ) -> None:
        super().__init__()
        self.phi = mlp([n_features, *phi], final_relu=True)
        self.rho = mlp([phi[-1], *rho, n_classes], final_relu=False)
        self.pooling = pooling

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.phi(x) * mask.unsqueeze(-1)
        pooled = h.sum(dim=1)
        if self.pooling == "mean":
            pooled = pooled / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        return self.rho(pooled)


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention written with MatMul/Softmax so it exports cleanly."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"embedding size {dim} is not divisible by {heads} heads")
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, t: torch.Tensor, n: int) -> torch.Tensor:
        return t.reshape(-1, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        q, k, v = self._split(self.q(x), n), self._split(self.k(x), n), self._split(self.v(x), n)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        keymask = mask[:, None, None, :]
        scores = scores + (1.0 - keymask) * MASK_NEG
        attn = torch.softmax(scores, dim=-1) * keymask
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(-1, n, self.dim)
        return self.out(ctx)


class EncoderLayer(nn.Module):
    """Pre-LayerNorm transformer encoder layer (no positional encoding)."""

    def __init__(self, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedSelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.ReLU(), nn.Linear(ff, dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask)
        return x + self.ff(self.norm2(x))


class SetTransformer(nn.Module):
    """Embedding -> encoder layers -> masked mean or attention pooling -> head -> logits."""

    def __init__(
        self,
        n_features: int,
        dim: int,
        heads: int,
        layers: int,
        ff: int,
        head: tuple[int, ...],
        n_classes: int,
        pooling: str = "attention",
    ) -> None:
        super().__init__()
        self.embed = mlp([n_features, dim, dim], final_relu=False)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ff) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.pooling = pooling
        self.pool_score = nn.Linear(dim, 1) if pooling == "attention" else None
        self.head = mlp([dim, *head, n_classes], final_relu=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h, mask)
        h = self.norm(h)
        m = mask.unsqueeze(-1)
        if self.pool_score is not None:
            w = torch.softmax(self.pool_score(h) + (1.0 - m) * MASK_NEG, dim=1) * m
            pooled = (w * h).sum(dim=1)
        else:
            pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)


def flatten_mlp(module: nn.Module, prefix: str = "") -> list[nn.Module]:
    """The Linear/ReLU/Softmax sequence of an MLP; TrigkitError names any other layer."""
    if isinstance(module, nn.Sequential):
        out: list[nn.Module] = []
        for name, child in module.named_children():
            out.extend(flatten_mlp(child, f"{prefix}{name}."))
        return out
    if isinstance(module, (nn.Linear, nn.ReLU, nn.Softmax)):
        return [module]
    if isinstance(module, (nn.Identity, nn.Dropout)):
        return []
    children = list(module.named_children())
    if len(children) == 1 and isinstance(children[0][1], nn.Sequential):
        return flatten_mlp(children[0][1], f"{prefix}{children[0][0]}.")
    where = prefix.rstrip(".") or "<model>"
    raise TrigkitError(
        f"layer '{where}' ({type(module).__name__}) cannot be converted for the FPGA; "
        "supported: an MLP of nn.Linear / nn.ReLU / nn.Softmax "
        "(optionally inside one wrapper module)"
    )
