"""Our normalisation layers against torch's built-ins in a ResNet-18 training step, and
the training throughput of every CNN family.

Run as ``cd benchmarks && python bench_cnn.py [--quick]``. Single-threaded (the harness
pins threads). One SGD step (forward, cross-entropy, backward, update) on the same batch:

* ``resnet18_norm_<kind>``: ResNet-18 (ImageNet stem, full widths) with ``norm_layer`` set
  to ours or torch's — BatchNorm (``deep.layers.BatchNorm2d`` vs ``nn.BatchNorm2d``),
  GroupNorm with 32 groups (``deep.layers.GroupNorm`` vs ``nn.GroupNorm``), channels-first
  LayerNorm (``deep.layers.LayerNorm2d`` vs ``F.layer_norm`` between two permutes, the
  usual way to apply torch's LayerNorm to feature maps). Same initial weights.
* ``cnn_family_throughput``: one model per family at ImageNet settings (1000 classes), a
  64x64 input (LeNet-5: 32x32 grey), printed as images per second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _harness  # noqa: F401  (before torch: pins threads)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _harness import Bench, machine  # noqa: E402
from torch import nn  # noqa: E402

from deep.layers import BatchNorm2d, GroupNorm, LayerNorm2d  # noqa: E402
from deep.models import create_model  # noqa: E402


class TorchLayerNorm2d(nn.LayerNorm):
    """torch's LayerNorm over the channels of (N, C, H, W): permute, normalise, permute."""

    def __init__(self, num_channels: int):
        super().__init__(num_channels, eps=1e-6)

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight,
                            self.bias, self.eps).permute(0, 3, 1, 2)


NORMS = {
    "batchnorm": (BatchNorm2d, nn.BatchNorm2d),
    "groupnorm": (lambda c: GroupNorm(32, c), lambda c: nn.GroupNorm(32, c)),
    "layernorm2d": (LayerNorm2d, TorchLayerNorm2d),
}

FAMILIES = ["lenet5", "vgg11_bn", "resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2",
            "mobilenet_v3_large", "mobilenet_v3_small", "squeezenet1_1", "googlenet",
            "convnext_tiny", "efficientnet_b0"]


def train_step(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    print(f"machine: {machine()}; torch {torch.__version__}, threads {torch.get_num_threads()}")
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 1000, (args.batch,))
    ratios = {}
    for kind, (ours_cls, torch_cls) in NORMS.items():
        torch.manual_seed(0)
        ours = create_model("resnet18", norm_layer=ours_cls)
        theirs = create_model("resnet18", norm_layer=torch_cls)
        theirs.load_state_dict(ours.state_dict())
        bench = Bench(f"resnet18_norm_{kind}", batch=args.batch, size=args.size)
        bench.add("deep", train_step(ours, x, y))
        bench.add("torch", train_step(theirs, x, y))
        bench.run(repeats=repeats, warmup=1)
        bench.report(ours="deep")
        ratios[kind] = bench.ratio("deep", "torch")
    print("\nResNet-18 train step, ours / torch's built-in norm: "
          + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))

    bench = Bench("cnn_family_throughput", batch=args.batch, size=args.size)
    for name in FAMILIES:
        torch.manual_seed(0)
        if name == "lenet5":
            model, xb = create_model(name), torch.randn(args.batch, 1, 32, 32)
        else:
            model, xb = create_model(name), x
        yb = torch.randint(0, model.num_classes, (args.batch,))
        bench.add(name, train_step(model, xb, yb))
    med = bench.run(repeats=repeats, warmup=1)
    print(f"\n## training throughput, batch {args.batch}, {args.size}x{args.size} "
          "(LeNet-5: 32x32 grey), one thread")
    for name, t in med.items():
        print(f"{name:<22}{args.batch / t:10.1f} images/s{t * 1e3:12.1f} ms/step")


if __name__ == "__main__":
    main()
