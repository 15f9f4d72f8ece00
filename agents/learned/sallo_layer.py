"""One SALLO-M layer's transformer proposal ``(C, W) -> (C', W~)``: a user-token and an
antenna-token stream with one weight set each, computed together as one batched product
(:class:`PairedLinear`); the layer's equations are in :mod:`agents.learned.sallo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from agents.learned.sallo import SalloConfig


class PairedLinear(nn.Module):
    """One affine map per stream, all applied in one batched product:
    ``x [S, B, L, fan_in] -> [S, B, L, fan_out]`` (``nn.Linear``'s initialisation, or zeros)."""

    def __init__(self, streams: int, fan_in: int, fan_out: int, zero: bool = False) -> None:
        super().__init__()
        bound = 0.0 if zero else fan_in**-0.5
        self.weight = nn.Parameter(torch.empty(streams, fan_in, fan_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(streams, 1, fan_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        streams, batch, length, _ = x.shape
        out = torch.baddbmm(self.bias, x.reshape(streams, batch * length, -1), self.weight)
        return out.view(streams, batch, length, -1)


class PairedNorm(nn.Module):
    """``LayerNorm`` with one affine pair per stream on ``x [S, B, L, d]`` (``zero``: the
    scale starts at zero, so the branch it ends starts silent)."""

    def __init__(self, streams: int, width: int, zero: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((streams, 1, 1, width), 0.0 if zero else 1.0))
        self.bias = nn.Parameter(torch.zeros(streams, 1, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:]) * self.weight + self.bias


def _mlp(streams: int, width: int, final_norm: bool) -> nn.Sequential:
    """``t -> 4t -> 4t -> t`` with GELU, ending in ``LayerNorm(t)`` or not; the last map
    starts at zero."""
    return nn.Sequential(
        PairedLinear(streams, width, 4 * width),
        nn.GELU(),
        PairedLinear(streams, 4 * width, 4 * width),
        nn.GELU(),
        PairedLinear(streams, 4 * width, width, zero=not final_norm),
        *([PairedNorm(streams, width, zero=True)] if final_norm else []),
    )


class Streams(nn.Module):
    """The token streams of one SALLO layer, computed together on ``x [S, B, 4M, M]``: per
    stream four groups of M tokens ``[Re C, Im C, Re W, Im W]`` of width M (module docstring).
    Every residual branch starts at zero: an untrained layer proposes its input."""

    def __init__(self, streams: int, config: SalloConfig) -> None:
        super().__init__()
        width, embed, dim = config.size, config.embed, config.model_dim
        self.heads = config.heads
        self.embed = nn.Sequential(PairedLinear(streams, width, embed), PairedNorm(streams, embed))
        self.types = nn.Parameter(torch.zeros(streams, 1, 4, 1, embed))
        self.snr = nn.Parameter(torch.zeros(streams, 1, 1, embed))
        self.qkv = PairedLinear(streams, embed, 3 * dim)
        self.collector = nn.Sequential(
            PairedLinear(streams, dim, 4 * width),
            nn.GELU(),
            PairedLinear(streams, 4 * width, 2 * width),
            nn.GELU(),
            PairedLinear(streams, 2 * width, width, zero=True),
        )
        self.norm_c, self.norm_w = PairedNorm(streams, width), PairedNorm(streams, width)
        self.mlp_c, self.mlp_w = _mlp(streams, width, True), _mlp(streams, width, False)

    def forward(self, x: torch.Tensor, snr: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``x [S, B, 4M, M]``, ``snr [B]``, ``keys`` bool ``[S, B, M]`` (active tokens)
        -> ``[S, B, 4M, M]``."""
        streams, batch, length, _ = x.shape
        z = self.embed(x).view(streams, batch, 4, length // 4, -1) + self.types
        z = z.view(streams, batch, length, -1) + snr[:, None, None] * self.snr
        qkv = self.qkv(z).view(streams * batch, length, 3, self.heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        mask = keys.repeat(1, 1, 4).view(streams * batch, 1, 1, length)  # keys: active tokens
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        attended = attended.transpose(1, 2).reshape(streams, batch, length, -1)
        y = x + self.collector(attended)
        c, w = y.chunk(2, dim=2)
        c = c + self.mlp_c(self.norm_c(c))
        w = w + self.mlp_w(self.norm_w(w))
        return torch.cat([c, w], dim=2)


class SalloLayer(nn.Module):
    """Transformer proposal of one layer: ``(C, W) -> (C', W~)`` (module docstring)."""

    def __init__(self, config: SalloConfig) -> None:
        super().__init__()
        self.kinds = ("users", "antennas") if config.streams == "both" else (config.streams,)
        self.streams = Streams(len(self.kinds), config)
        self.size = config.size

    def forward(
        self,
        C: torch.Tensor,
        W: torch.Tensor,
        snr: torch.Tensor,
        users: torch.Tensor,
        antennas: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``C [B, S, S]``, ``W [B, S, S]`` (token scale, ``S <= M``), ``snr [B]``, bool masks
        ``users [B, S]``, ``antennas [B, S]`` -> the proposal ``(C', W')`` at token scale (not
        yet masked). Tokens are zero-padded to the width M of the weights."""
        # user stream: rows of C and of W^T (users); antenna stream: their transposes
        pairs = {"users": (C, W.mT, users), "antennas": (C.mT, W, antennas)}
        chosen = [pairs[kind] for kind in self.kinds]
        x = torch.stack([torch.cat([c.real, c.imag, w.real, w.imag], 1) for c, w, _ in chosen])
        keys = torch.stack([mask for _, _, mask in chosen])
        width = x.shape[-1]
        out = self.streams(F.pad(x, (0, self.size - width)), snr, keys)[..., :width]
        c_re, c_im, w_re, w_im = out.chunk(4, dim=2)
        C_out, W_out = torch.complex(c_re, c_im), torch.complex(w_re, w_im)  # [S, B, M, M]
        if self.kinds == ("users", "antennas"):  # back to the user layout, then average
            C_new = (C_out[0] + C_out[1].mT) / 2
            W_new = (W_out[0].mT + W_out[1]) / 2
        elif self.kinds == ("users",):
            C_new, W_new = C_out[0], W_out[0].mT
        else:
            C_new, W_new = C_out[0].mT, W_out[0]
        return C_new, W_new
