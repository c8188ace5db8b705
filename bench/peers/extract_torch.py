#!/usr/bin/env python3
"""A researcher's extraction pipeline in Python: the extraction peer of `npm run bench -- peers`.

ffmpeg decodes the wanted frames of a clip (scaled and centre-cropped to 224x224, RGB) into a
pipe -> numpy -> the ImageNet normalisation -> MobileNetV2 in PyTorch (batch of all the clip's
frames, inference mode) -> the last 1x1 convolution's map [T, 7, 7, 1280] saved with numpy.
MobileNetV2-1.0 is written out here (inverted residual blocks, ReLU6, batch norm); its weights
are seeded random numbers (speed only). `--export PATH` writes the same network, the same
weights, to ONNX: the benchmark gives that file to dfan as a one-backbone pack, so both sides run
the same network on the same frames (the benchmark checks that their feature maps agree).

Runs as a server: prints one JSON line {"ready": ...}, then answers each JSON line on stdin
  {"clip": path, "select": ffmpeg select expression, "out": path.npy, "threads": n}
    -> {"wall": s, "cpu": s (this process + ffmpeg), "frames": n}
  {"quit": true} -> exits
"""
import argparse
import json
import resource
import subprocess
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:
    print(json.dumps({"error": f"PyTorch or numpy is not installed ({e}): apt-get install python3-torch python3-numpy"}))
    sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("--export", default="")
ap.add_argument("--ffmpeg", default="ffmpeg")
ap.add_argument("--size", type=int, default=224)
a = ap.parse_args()
S = a.size
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def conv_bn(cin, cout, k, stride, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else conv_bn(cin, hidden, 1, 1)
        layers += conv_bn(hidden, hidden, 3, stride, groups=hidden) + conv_bn(hidden, cout, 1, 1, act=False)
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2Map(nn.Module):
    """MobileNetV2-1.0 up to its last 1x1 convolution: [N, 3, 224, 224] -> [N, 1280, 7, 7]."""

    # expansion t, channels c, repeats n, first stride s (Sandler et al. 2018, table 2)
    CONFIG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self):
        super().__init__()
        layers = conv_bn(3, 32, 3, 2)
        cin = 32
        for t, c, n, s in self.CONFIG:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += conv_bn(cin, 1280, 1, 1)
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


torch.manual_seed(0)
model = MobileNetV2Map()
for m in model.modules():  # trained-looking statistics, so that batch norm is not the identity
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.1, 0.1)
        m.running_var.uniform_(0.5, 1.5)
        m.weight.data.uniform_(0.5, 1.5)
        m.bias.data.uniform_(-0.1, 0.1)
model.eval()
if a.export:
    torch.onnx.export(model, torch.zeros(1, 3, S, S), a.export, input_names=["input"], output_names=["features"],
                      dynamic_axes={"input": {0: "N"}, "features": {0: "N"}}, opset_version=13)


def frames_of(clip, select):
    """The selected frames of a clip, [n, S, S, 3] uint8, decoded by ffmpeg into a pipe."""
    vf = f"select='{select}',scale={S}:{S}:force_original_aspect_ratio=increase:flags=bilinear,crop={S}:{S},format=rgb24"
    raw = subprocess.run([a.ffmpeg, "-v", "error", "-nostdin", "-i", clip, "-vf", vf, "-vsync", "0",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, S, S, 3)


def extract(clip, select, out):
    frames = frames_of(clip, select)
    x = (frames.astype(np.float32) / 255.0 - MEAN) / STD  # [n, S, S, 3]
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
    with torch.inference_mode():
        y = model(x)  # [n, 1280, 7, 7]
    np.save(out, y.permute(0, 2, 3, 1).contiguous().numpy())  # channels-last, as dfan stores maps
    return len(frames)


def cpu_now():
    return time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + \
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime


print(json.dumps({"ready": True, "torch": torch.__version__,
                  "params": sum(p.numel() for p in model.parameters())}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd.get("quit"):
        break
    torch.set_num_threads(int(cmd.get("threads", 1)))
    t0, c0 = time.perf_counter(), cpu_now()
    n = extract(cmd["clip"], cmd["select"], cmd["out"])
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": cpu_now() - c0, "frames": n}), flush=True)
