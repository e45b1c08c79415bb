"""Candidate operations of the NAS search spaces.

- The DARTS CNN cell ops (Liu, Simonyan, Yang, ICLR 2019, section 3 and appendix A.1):
  ``none``, ``max_pool_3x3``, ``avg_pool_3x3``, ``skip_connect``, ``sep_conv_3x3``,
  ``sep_conv_5x5``, ``dil_conv_3x3``, ``dil_conv_5x5``. A separable convolution is applied
  twice, every convolution is ReLU-Conv-BN, and in the supernet every BatchNorm is non-affine
  (pooling ops get one too).
- The ProxylessNAS chain ops (Cai, Zhu, Han, ICLR 2019, section 4): MobileNetV2 inverted
  residual blocks (MBConv) with kernel 3, 5 or 7 and expansion 3 or 6, and ``zero``.
- The MLP layer of the tabular space: a linear map, an activation and an optional skip.

Stride-2 ops all map a side of n pixels to ceil(n / 2), odd sizes included, so cells stack on
28x28 digits as well as on 8x8 or 32x32 inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

DARTS_OPS: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
PARAMETER_FREE_OPS = frozenset({"none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"})

MBCONV_OPS: tuple[str, ...] = ("mb3_e3", "mb3_e6", "mb5_e3", "mb5_e6", "mb7_e3", "mb7_e6")
ZERO_OP = "zero"

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu, "silu": F.silu,
}


class Zero(nn.Module):
    """The ``none`` op: zeros of the output's shape (strided like the other ops)."""

    def __init__(self, stride: int, out_channels: int | None = None):
        super().__init__()
        self.stride = stride
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.out_channels is not None and x.dim() == 4 and x.shape[1] != self.out_channels:
            return x.new_zeros(x.shape[0], self.out_channels, *x.shape[2:])
        return torch.zeros_like(x)


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """ReLU, depthwise dilated convolution, pointwise convolution, BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """A depthwise-separable convolution applied twice (the first one carries the stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Halves the resolution with two 1x1 stride-2 convolutions, one shifted by a pixel.

    The shifted branch pads one row and column first, so odd sides give ceil(n / 2) in both.
    """

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _pool(kind: str, channels: int, stride: int, affine: bool) -> nn.Module:
    pool = (nn.MaxPool2d(3, stride=stride, padding=1) if kind == "max"
            else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
    if affine:  # the derived network: plain pooling, as in DARTS' evaluation network
        return pool
    return nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False))


def darts_op(name: str, channels: int, stride: int, affine: bool) -> nn.Module:
    """One DARTS cell op on ``channels`` channels; ``affine=False`` in the supernet."""
    c = channels
    builders: dict[str, Callable[[], nn.Module]] = {
        "none": lambda: Zero(stride),
        "max_pool_3x3": lambda: _pool("max", c, stride, affine),
        "avg_pool_3x3": lambda: _pool("avg", c, stride, affine),
        "skip_connect": lambda: (nn.Identity() if stride == 1
                                 else FactorizedReduce(c, c, affine)),
        "sep_conv_3x3": lambda: SepConv(c, c, 3, stride, 1, affine),
        "sep_conv_5x5": lambda: SepConv(c, c, 5, stride, 2, affine),
        "dil_conv_3x3": lambda: DilConv(c, c, 3, stride, 2, 2, affine),
        "dil_conv_5x5": lambda: DilConv(c, c, 5, stride, 4, 2, affine),
    }
    if name not in builders:
        raise ValueError(f"unknown DARTS op {name!r}; choose from {', '.join(DARTS_OPS)}")
    return builders[name]()


class MBConv(nn.Module):
    """MobileNetV2's inverted residual body: 1x1 expand, kxk depthwise, 1x1 project.

    The residual is added by the block that holds the op, so ``zero`` can drop the body.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        mid = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid),
                       nn.ReLU6(inplace=False)]
        layers += [nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False),
                   nn.BatchNorm2d(mid), nn.ReLU6(inplace=False),
                   nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def chain_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """One ProxylessNAS block op: ``mb{k}_e{e}`` or ``zero``."""
    if name == ZERO_OP:
        return Zero(stride, out_channels=c_out)
    if name not in MBCONV_OPS:
        raise ValueError(f"unknown chain op {name!r}; choose from "
                         f"{', '.join((*MBCONV_OPS, ZERO_OP))}")
    kernel, expansion = int(name[2]), int(name[-1])  # "mb{kernel}_e{expansion}"
    return MBConv(c_in, c_out, kernel, stride, expansion)


def fit_width(x: torch.Tensor, width: int) -> torch.Tensor:
    """Cuts or zero-pads the last dimension to ``width`` (the MLP space's parameter-free skip)."""
    d = x.shape[-1]
    if d == width:
        return x
    if d > width:
        return x[..., :width]
    return F.pad(x, (0, width - d))


class DropPath(nn.Module):
    """Drops a whole op output per example with probability ``p`` during training."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty(x.shape[0], *([1] * (x.dim() - 1)), device=x.device).bernoulli_(keep)
        return x * mask / keep
