"""Boxes: greedy NMS against OpenCV, and the IoU matrix against a plain numpy broadcast.

NMS: ``cvgeo.nms`` (numpy boxes: the compiled kernel; torch boxes: the array-API path)
against ``cv2.dnn.NMSBoxes`` on the same random boxes (xyxy for us, xywh for OpenCV,
converted once outside the timing), 1k and 10k boxes, IoU threshold 0.5, and the kept
indices checked equal before timing. ``cv2.dnn.NMSBoxesBatched`` against
``batched_nms`` with 20 classes.

IoU matrix: ``box_iou`` (array API) against the textbook numpy broadcast written inline
(what a user would write without the library), 1000 x 1000 boxes, reported as pairs per
second too.

Run: ``cd benchmarks && python bench_boxes.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import _harness  # first of the third-party imports: pins every library to one thread
import cv2
import numpy as np
from _harness import Bench, compile_times

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cvgeo.geometry.boxes import batched_nms, box_convert, box_iou, nms  # noqa: E402

assert _harness


def random_boxes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` boxes of side 10-80 in a square whose side grows with sqrt(n), so that the
    density (and the fraction suppressed, about 40 %) is the same at every n."""
    rng = np.random.default_rng(seed)
    span = 10.0 * np.sqrt(n)
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(10, 80, (n, 2))
    return np.c_[xy, xy + wh], rng.uniform(0.01, 1.0, n)


def bench_nms(n: int) -> None:
    import torch

    boxes, scores = random_boxes(n)
    xywh = box_convert(boxes, src="xyxy", dst="xywh")
    tb, ts = torch.from_numpy(boxes), torch.from_numpy(scores)
    keep = nms(boxes, scores, iou_threshold=0.5)
    ref = np.asarray(cv2.dnn.NMSBoxes(xywh, scores, 0.0, 0.5)).ravel()
    if not np.array_equal(keep, ref):
        raise SystemExit("nms and cv2.dnn.NMSBoxes disagree: fix before timing")
    print(f"\nNMS on {n} boxes: {keep.size} kept (identical to cv2.dnn.NMSBoxes)")
    bench = Bench("nms", boxes=n, iou_threshold=0.5)
    bench.add("cvgeo", lambda: nms(boxes, scores, iou_threshold=0.5))
    bench.add("cv2.dnn.NMSBoxes", lambda: cv2.dnn.NMSBoxes(xywh, scores, 0.0, 0.5))
    if n <= 1000:  # one vector step per kept box: linear in n per step
        bench.add("cvgeo (torch tensors)", lambda: nms(tb, ts, iou_threshold=0.5))
    bench.run(repeats=9 if n <= 1000 else 5)
    bench.report(ours="cvgeo")


def bench_batched(n: int) -> None:
    boxes, scores = random_boxes(n, seed=1)
    labels = np.random.default_rng(2).integers(0, 20, n)
    xywh = box_convert(boxes, src="xyxy", dst="xywh")
    bench = Bench("batched_nms", boxes=n, classes=20, iou_threshold=0.5)
    bench.add("cvgeo", lambda: batched_nms(boxes, scores, labels, iou_threshold=0.5))
    bench.add("cv2.dnn.NMSBoxesBatched",
              lambda: cv2.dnn.NMSBoxesBatched(xywh, scores, labels, 0.0, 0.5))
    bench.run(repeats=7)
    bench.report(ours="cvgeo")


def bench_iou(n: int) -> None:
    a, _ = random_boxes(n, seed=3)
    b, _ = random_boxes(n, seed=4)

    def broadcast():
        area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
        area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        lt = np.maximum(a[:, None, :2], b[None, :, :2])
        rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
        wh = np.clip(rb - lt, 0, None)
        inter = wh[..., 0] * wh[..., 1]
        return inter / (area_a[:, None] + area_b[None, :] - inter)

    np.testing.assert_allclose(box_iou(a, b), broadcast(), atol=1e-15)
    bench = Bench("box_iou", boxes=f"{n}x{n}")
    bench.add("cvgeo", lambda: box_iou(a, b))
    bench.add("numpy broadcast", broadcast)
    med = bench.run(repeats=9)
    bench.report(ours="cvgeo")
    for label, t in med.items():
        print(f"  {label}: {n * n / t / 1e6:.1f} M pairs/s")


def main() -> None:
    for n in (1000, 10000):
        bench_nms(n)
    bench_batched(10000)
    bench_iou(1000)
    print("\nnms, 100 boxes:")
    compile_times("from cvgeo.geometry.boxes import nms\n"
                  "b = numpy.random.default_rng(0).uniform(0, 50, (100, 4))\n"
                  "b[:, 2:] += b[:, :2]\n"
                  "nms(b, numpy.ones(100), iou_threshold=0.5)")


if __name__ == "__main__":
    main()
