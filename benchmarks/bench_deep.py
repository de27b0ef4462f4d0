"""Training throughput of deep's ViT, against timm's VisionTransformer when importable.

Run as ``cd benchmarks && python bench_deep.py``. Single-threaded (the harness pins
threads). Cases, all one AdamW training step on the same batch:

* ``deep`` — ``deep.models.ViT`` (fused ``scaled_dot_product_attention``);
* ``deep explicit attention`` — the same weights through the explicit softmax path;
* ``timm`` — ``timm.models.vision_transformer.VisionTransformer`` of the same
  configuration (same parameter count, checked), only if ``import timm`` works;
  otherwise the benchmark prints that it skipped that comparison.
"""

from __future__ import annotations

import sys
from pathlib import Path

import _harness  # noqa: F401  (before torch: pins threads)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _harness import Bench, machine  # noqa: E402

from deep.models import ViT  # noqa: E402

CONFIG = dict(image_size=32, patch_size=4, in_chans=3, num_classes=10, dim=192, depth=6,
              num_heads=3, mlp_ratio=4.0)
BATCH = 32


def train_step(model, opt, x, y):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def main() -> None:
    print(f"machine: {machine()}; torch {torch.__version__}, threads {torch.get_num_threads()}")
    torch.manual_seed(0)
    x = torch.randn(BATCH, 3, 32, 32)
    y = torch.randint(0, 10, (BATCH,))
    ours = ViT(**CONFIG)
    explicit = ViT(**CONFIG, fused_attn=False)
    explicit.load_state_dict(ours.state_dict())
    n_ours = sum(p.numel() for p in ours.parameters())
    params = dict(config=f"ViT dim {CONFIG['dim']} depth {CONFIG['depth']} heads "
                  f"{CONFIG['num_heads']} patch 4 on 32x32", batch=BATCH, params=n_ours)
    bench = Bench("deep_vit_train_step", **params)
    bench.add("deep", train_step(ours, torch.optim.AdamW(ours.parameters()), x, y))
    bench.add("deep explicit attention",
              train_step(explicit, torch.optim.AdamW(explicit.parameters()), x, y))
    try:
        from timm.models.vision_transformer import VisionTransformer
    except ImportError as exc:
        print(f"timm not importable ({exc}): SKIPPED the comparison with timm's "
              "VisionTransformer; timing deep alone")
    else:
        peer = VisionTransformer(img_size=32, patch_size=4, in_chans=3, num_classes=10,
                                 embed_dim=CONFIG["dim"], depth=CONFIG["depth"],
                                 num_heads=CONFIG["num_heads"], mlp_ratio=CONFIG["mlp_ratio"])
        n_peer = sum(p.numel() for p in peer.parameters())
        if n_peer != n_ours:
            raise SystemExit(f"parameter counts differ: deep {n_ours}, timm {n_peer}")
        bench.add("timm", train_step(peer, torch.optim.AdamW(peer.parameters()), x, y))
    med = bench.run(repeats=7, warmup=2)
    bench.report(ours="deep")
    for label, t in med.items():
        print(f"{label:<28} {BATCH / t:8.1f} images/s")


if __name__ == "__main__":
    main()
