"""
Tiny, randomly initialised PyTorch stand-ins for the backbones docs/backbones.md exports (CLIP
ViT-B/16, VideoMAE ViT-B, a torchvision 3-D ResNet), exported with the same torch.onnx.export
calls and wrappers as the docs, so that test/backbones/torch-exports.test.ts can check that
dfan's manifest fields (skipTokens, grid, layout, time) read their outputs the way PyTorch
means them. Nothing is downloaded: the weights are random, the shapes and token orders are real.

    python3 torch_exports.py OUT_DIR

writes OUT_DIR/{vit,videomae,r3d}.onnx, OUT_DIR/pack.json (the manifests), the input frames
(uint8 RGB, frames.bin [N,H,W,3] and clips.bin [N,F,H,W,3]) and, per backbone, the map dfan must
store, computed here with PyTorch's own reshapes: <stream>.expected.bin (float32, [N, ...]).
"""
import json
import sys

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
OUT = sys.argv[1]
MEAN = [0.48145466, 0.4578275, 0.40821073]  # CLIP's
STD = [0.26862954, 0.26130258, 0.27577711]
K_MEAN = [0.43216, 0.394666, 0.37645]  # torchvision video models'
K_STD = [0.22803, 0.22145, 0.216989]


class TinyClipVision(nn.Module):
    """CLIPVisionModel's shape: class token, patch tokens in row-major order, pre-LN, encoder; plus registers."""

    def __init__(self, size=32, patch=8, width=16, registers=2):
        super().__init__()
        self.embed = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        n = (size // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1 + registers, width))
        self.pos = nn.Parameter(torch.randn(1, 1 + registers + n, width))
        self.pre = nn.LayerNorm(width)
        self.block = nn.TransformerEncoderLayer(width, 2, 32, dropout=0.0, batch_first=True)

    def forward(self, pixel_values):
        x = self.embed(pixel_values).flatten(2).transpose(1, 2)  # [N, H·W, C]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.block(self.pre(x))  # last_hidden_state [N, 1 + R + H·W, C]


class TinyVideoMAE(nn.Module):
    """VideoMAEModel's shape: input [N, T, C, H, W], tubelet Conv3d, tokens in (t, h, w) order, no class token."""

    def __init__(self, size=32, patch=8, frames=4, tubelet=2, width=16):
        super().__init__()
        self.embed = nn.Conv3d(3, width, (tubelet, patch, patch), stride=(tubelet, patch, patch))
        self.pos = nn.Parameter(torch.randn(1, (frames // tubelet) * (size // patch) ** 2, width))
        self.block = nn.TransformerEncoderLayer(width, 2, 32, dropout=0.0, batch_first=True)

    def forward(self, pixel_values):
        x = self.embed(pixel_values.permute(0, 2, 1, 3, 4)).flatten(2).transpose(1, 2)
        return self.block(x + self.pos)


class VideoMAETokens(nn.Module):
    """The docs' wrapper: dfan feeds NCTHW, VideoMAE wants NTCHW."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, clip):
        return self.m(clip.permute(0, 2, 1, 3, 4))


class TinyR3D(nn.Module):
    """torchvision VideoResNet's strides: stem (1,2,2), then stages of stride 2 in T, H and W."""

    def __init__(self, width=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, width, (3, 7, 7), (1, 2, 2), (1, 3, 3)), nn.ReLU())
        self.layer = nn.Sequential(nn.Conv3d(width, 2 * width, 3, 2, 1), nn.ReLU())

    def forward(self, clip):
        return self.layer(self.stem(clip))  # [N, C, T', H', W']


def export(model, example, path, inp, out):
    model.eval()
    torch.onnx.export(
        model, example, path, input_names=[inp], output_names=[out],
        dynamic_axes={inp: {0: "N"}, out: {0: "N"}}, opset_version=14,
    )


def normalise(u8, mean, std):
    x = torch.from_numpy(u8.astype(np.float32) / 255.0)
    return (x - torch.tensor(mean)) / torch.tensor(std)  # channels last


def main():
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)  # [N, H, W, 3]
    clips = rng.integers(0, 256, (2, 4, 32, 32, 3), dtype=np.uint8)  # [N, F, H, W, 3]
    frames.tofile(f"{OUT}/frames.bin")
    clips.tofile(f"{OUT}/clips.bin")
    vit, vmae, r3d = TinyClipVision(), VideoMAETokens(TinyVideoMAE()), TinyR3D()
    export(vit, torch.zeros(1, 3, 32, 32), f"{OUT}/vit.onnx", "pixel_values", "last_hidden_state")
    export(vmae, torch.zeros(1, 3, 4, 32, 32), f"{OUT}/videomae.onnx", "clip", "tokens")
    export(r3d, torch.zeros(1, 3, 4, 32, 32), f"{OUT}/r3d.onnx", "clip", "layer4")
    with torch.no_grad():
        x = normalise(frames, MEAN, STD).permute(0, 3, 1, 2)  # NCHW
        y = vit(x)  # [3, 1 + 2 + 16, 16]
        y[:, 3:].reshape(3, 4, 4, 16).numpy().tofile(f"{OUT}/object.expected.bin")
        c = normalise(clips, MEAN, STD).permute(0, 4, 1, 2, 3)  # NCTHW
        y = vmae(c)  # [2, 2·4·4, 16]
        y.reshape(2, 2 * 4, 4, 16).numpy().tofile(f"{OUT}/motion.expected.bin")  # T' grids stacked
        c = normalise(clips, K_MEAN, K_STD).permute(0, 4, 1, 2, 3)
        y = r3d(c)  # [2, 16, 2, 8, 8]
        y.mean(2).permute(0, 2, 3, 1).numpy().tofile(f"{OUT}/action.expected.bin")
    common = {"engine": "onnx", "licence": "test only", "description": "RANDOM weights (tiny stand-in)"}
    clip_input = {"name": "clip", "size": [32, 32], "layout": "NCTHW", "frames": 4, "mean": MEAN, "std": STD}
    pack = {
        "id": "torch-exports@1",
        "backbones": [
            {
                **common, "id": "tiny-clip-vit", "stream": "object", "kind": "frame-map", "weights": "vit.onnx",
                "input": {"name": "pixel_values", "size": [32, 32], "layout": "NCHW", "mean": MEAN, "std": STD},
                "output": {"name": "last_hidden_state", "shape": [19, 16], "layout": "tokens", "skipTokens": 3,
                           "grid": [4, 4]},
            },
            {
                **common, "id": "tiny-videomae", "stream": "motion", "kind": "clip-map", "weights": "videomae.onnx",
                "input": clip_input,
                "output": {"name": "tokens", "shape": [32, 16], "layout": "tokens", "grid": [2, 4, 4],
                           "time": "cells"},
            },
            {
                **common, "id": "tiny-r3d", "stream": "action", "kind": "clip-map", "weights": "r3d.onnx",
                "input": {**clip_input, "mean": K_MEAN, "std": K_STD},
                "output": {"name": "layer4", "shape": [16, 2, 8, 8]},
            },
        ],
    }
    with open(f"{OUT}/pack.json", "w") as f:
        json.dump(pack, f, indent=2)


main()
