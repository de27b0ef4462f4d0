"""Hostile-input probes for every public ``cvgeo`` callable (used by ``test_fuzz.py``).

Each public callable has a *base call* (valid arguments) in :func:`base_calls`. Its
probes are the base call with one argument at a time replaced by a hostile value: for
the data argument every entry of :data:`HOSTILE_IMAGES` or :data:`HOSTILE_POINTS`, for
every parameter every entry of :func:`hostile_values` (zero, negatives, NaN, inf, huge
and tiny finite numbers, ints beyond int64, wrong types, strings for flags, empty, 1x1,
4-D, complex, big-endian and absurdly sized arrays, absurd shapes).

A probe passes when the call returns without NaN anywhere in its result, or raises a
``ValueError`` / ``TypeError`` (``DegenerateError`` included) whose message starts with
the public name, within :data:`PROBE_SECONDS`. Crashes are caught by running each group
of callables in its own subprocess (``python -m tests.cvgeo.fuzz_probes SKIP NAME ...``),
which prints one JSON line per probe and a ``start`` line before it, so a segfault or a
hang names the probe that caused it (the parent then restarts the worker after it).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

#: A probe slower than this counts as a hang (the inputs are 16x16 images and a few
#: dozen points; the slowest legitimate probe takes well under a second).
PROBE_SECONDS = 10.0

#: Address-space cap of a worker: a probe that tries to allocate gigabytes fails with
#: MemoryError (a finding) instead of swapping the machine.
MEMORY_LIMIT_BYTES = 6 * 2**30


def _rng() -> np.random.Generator:
    return np.random.default_rng(20261205)


def hostile_images() -> dict[str, Any]:
    """Images no function may crash on, keyed by a short label."""
    rng = _rng()
    g = rng.random((16, 16))
    out: dict[str, Any] = {
        "empty": np.zeros((0, 0)),
        "empty-cols": np.zeros((5, 0)),
        "empty-channels": np.zeros((5, 5, 0)),
        "1x1": np.zeros((1, 1)),
        "1x1x3": np.ones((1, 1, 3), np.uint8),
        "1xN": rng.random((1, 9)),
        "nan": np.where(g > 0.5, np.nan, g),
        "inf": np.where(g > 0.5, np.inf, g),
        "-inf": np.full((8, 8), -np.inf, np.float32),
        "huge64": g * 1e300,
        "huge32": (g * 3e38).astype(np.float32),
        "at-limit": g * 1e10,
        "neg-limit": -g * 1e10,
        "subnormal": g * 1e-310,
        "constant": np.full((16, 16), 0.25),
        "int64": (g * 255).astype(np.int64),
        "int8": (g * 100).astype(np.int8),
        "float16": g.astype(np.float16),
        "complex": g.astype(np.complex128),
        "object": g.astype(object),
        "str": np.full((4, 4), "a"),
        "4-D": np.zeros((2, 4, 4, 3)),
        "1-D": np.zeros(7),
        "0-D": np.array(1.0),
        "5-channel": rng.random((8, 8, 5)),
        "2-channel": rng.random((8, 8, 2)),
        "big-endian": g.astype(">f8"),
        "strided": rng.random((32, 32, 3))[::2, ::-2],
        "uint16": (g * 65535).astype(np.uint16),
        "bool": g > 0.5,
        "list": g.tolist(),
        "none": None,
        "string": "image.png",
    }
    return out


def hostile_points() -> dict[str, Any]:
    """Point sets (N, 2) no function may crash on."""
    rng = _rng()
    p = rng.random((12, 2)) * 100
    return {
        "empty": np.zeros((0, 2)),
        "one": p[:1],
        "nan": np.where(p > 50, np.nan, p),
        "inf": np.where(p > 50, np.inf, p),
        "huge": p * 1e300,
        "tiny": p * 1e-300,
        "coincident": np.zeros((12, 2)),
        "collinear": np.c_[np.arange(12.0), np.arange(12.0)],
        "int": p.astype(np.int64),
        "float32": p.astype(np.float32),
        "big-endian": p.astype(">f8"),
        "complex": p.astype(complex),
        "object": p.astype(object),
        "3-D": p.reshape(2, 6, 2),
        "wide": rng.random((12, 3)),
        "1-D": p[:, 0],
        "list": p.tolist(),
        "none": None,
    }


def hostile_values() -> dict[str, Any]:
    """Values substituted, one at a time, for every parameter."""
    return {
        "0": 0, "-1": -1, "0.5": 0.5, "1e308": 1e308, "-1e308": -1e308, "1e-300": 1e-300,
        "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "2**70": 2**70,
        "-2**70": -(2**70), "10**400": 10**400, "2**62": 2**62, "True": True, "'no'": "no",
        "''": "", "None": None, "object": object(), "[1, 2]": [1, 2], "(1,)": (1,),
        "1j": 1j, "np.nan32": np.float32("nan"), "np.int64": np.int64(3),
        "(100000, 100000)": (100_000, 100_000), "(2**40, 2)": (2**40, 2), "(0, 0)": (0, 0),
        "(-1, 5)": (-1, 5), "array-empty": np.zeros((0,)), "array-(0,2)": np.zeros((0, 2)),
        "array-1x1": np.ones((1, 1)), "array-nan": np.full((3, 3), np.nan),
        "array-huge": np.full((3, 3), 1e300), "array-zeros": np.zeros((3, 3)),
        "array-4d": np.zeros((2, 2, 2, 2)), "array-complex": np.zeros((3, 3), complex),
        "array-str": np.array(["a", "b"]), "array-big": np.zeros((4, 2), ">f8") + 1,
    }


def _scene():
    import cvgeo

    return cvgeo.synthetic_two_view_scene(30, seed=3, noise_px=0.2)


def base_calls(tmp: str) -> dict[str, tuple[Any, tuple, dict, str, str]]:
    """``name -> (callable, args, kwargs, data kind, message prefix)`` for valid calls.

    The data kind (``"image"``, ``"points"`` or ``""``) picks which hostile set replaces
    the first argument; the prefix is what every error message must start with.
    """
    import cvgeo

    rng = _rng()
    img = rng.random((16, 16))
    img2 = rng.random((16, 16))
    rgb = rng.random((16, 16, 3))
    s = _scene()
    F, x1, x2, K = s.F, s.x1, s.x2, s.K1
    E = s.E
    R, t = s.R, s.t
    P1 = cvgeo.projection_matrix(K, np.eye(3), np.zeros(3))
    P2 = cvgeo.projection_matrix(K, R, t)
    pts = rng.random((12, 2)) * 100
    H = np.array([[1.0, 0.1, 3.0], [-0.1, 1.0, 2.0], [1e-4, 0.0, 1.0]])
    src = rng.random((20, 2)) * 100
    dst = np.c_[src, np.ones(20)] @ H.T
    dst = dst[:, :2] / dst[:, 2:]
    lab = (img > 0.5).astype(np.int32)
    lab2 = (img2 > 0.3).astype(np.int32)
    edges = cvgeo.canny(img, sigma=1.0)
    X = rng.random((40, 2))
    xy = rng.random((8, 2)) * 12
    boxes = np.c_[xy, xy + 1 + rng.random((8, 2)) * 4]
    box_scores = rng.random(8)
    box_labels = rng.integers(0, 3, 8)
    png = os.path.join(tmp, "probe.png")
    cvgeo.write_image(png, img)
    kseg = cvgeo.KMeansSegmenter

    def segmenter(*a, **k):
        return kseg(*a, **k).fit(img)

    segmenter.__signature__ = __import__("inspect").signature(kseg.__init__).replace(
        parameters=list(__import__("inspect").signature(kseg.__init__).parameters.values())[1:])

    def segmenter_data(image):
        return kseg(3).fit(image).predict(image)

    calls: dict[str, tuple[Any, tuple, dict, str, str]] = {
        "achievable_segmentation_accuracy": (None, (lab, lab2), {}, "", ""),
        "adjusted_rand_index": (None, (lab, lab2), {}, "", ""),
        "apply_filter": (None, (img, cvgeo.frequency_filter("lowpass", cutoff=0.1)), {},
                         "image", ""),
        "boundary_recall": (None, (lab, lab2), {}, "", ""),
        "canny": (None, (img,), {}, "image", ""),
        "correct_matches": (None, (F, x1, x2), {}, "", ""),
        "correspondences_from_disparity": (None, (img * 10,), {"n_points": 20}, "image", ""),
        "decompose_essential": (None, (E,), {}, "", ""),
        "denormalize": (None, (img, 0.5, 0.25), {}, "image", ""),
        "depth_from_disparity": (None, (img * 10 + 1,), {"focal_px": 100.0, "baseline": 0.1},
                                 "image", ""),
        "downsample": (None, (img, 2), {}, "image", ""),
        "draw_circles": (None, (img, np.array([[8.0, 8.0, 4.0]])), {}, "image", ""),
        "draw_lines": (None, (img, np.array([[0.6, 0.8, -8.0]])), {}, "image", ""),
        "draw_segments": (None, (img, np.array([[1.0, 2.0, 14.0, 9.0]])), {}, "image", ""),
        "epipolar_distance": (None, (F, x1, x2), {}, "", ""),
        "epipolar_lines": (None, (F, x1), {}, "", ""),
        "epipoles": (None, (F,), {}, "", ""),
        "essential_from_fundamental": (None, (F,), {"K1": K, "K2": K}, "", ""),
        "estimate_bandwidth": (None, (X,), {}, "", ""),
        "felzenszwalb": (None, (img,), {}, "image", ""),
        "fft_convolve": (None, (img, np.ones((3, 3)) / 9), {}, "image", ""),
        "find_fundamental": (None, (x1, x2), {}, "points", ""),
        "find_homography": (None, (src, dst), {}, "points", ""),
        "frequency_filter": (None, ("lowpass",), {"cutoff": 0.1}, "", ""),
        "frequency_grid": (None, ((8, 8),), {}, "", ""),
        "from_homogeneous": (None, (np.c_[pts, np.ones(12)],), {}, "", ""),
        "fundamental_7point": (None, (x1[:7], x2[:7]), {}, "points", ""),
        "fundamental_8point": (None, (x1, x2), {}, "points", ""),
        "fundamental_from_essential": (None, (E,), {"K1": K, "K2": K}, "", ""),
        "fundamental_from_pose": (None, (R, t), {"K1": K, "K2": K}, "", ""),
        "gaussian_blur": (None, (img, 2.0), {}, "image", ""),
        "gaussian_filter": (None, (img, 1.0), {}, "image", ""),
        "gaussian_gradient": (None, (img, 1.0), {}, "image", ""),
        "gaussian_kernel": (None, (1.0,), {}, "", ""),
        "gaussian_pyramid": (None, (img,), {}, "image", ""),
        "hartley_normalize": (None, (pts,), {}, "points", ""),
        "hough_circles": (None, (img,), {"radii": np.arange(3, 6)}, "image", ""),
        "hough_line_peaks": (None, (cvgeo.hough_lines(edges),), {}, "", ""),
        "hough_lines": (None, (edges,), {}, "image", ""),
        "hough_segments": (None, (edges,), {}, "image", ""),
        "hybrid_image": (None, (img, img2), {"low_cutoff": 0.1, "high_cutoff": 0.2}, "image",
                         ""),
        "hybrid_scales": (None, (img, 2), {}, "image", ""),
        "intrinsic_matrix": (None, (100.0, 8.0, 8.0), {}, "", ""),
        "is_at_infinity": (None, (np.c_[pts, np.ones(12)],), {}, "", ""),
        "kmeans": (None, (X, 3), {}, "points", ""),
        "kmeans_segment": (None, (img, 3), {}, "image", ""),
        "laplacian_pyramid": (None, (img,), {}, "image", ""),
        "mean_shift": (None, (X,), {"bandwidth": 0.3}, "points", ""),
        "mean_shift_segment": (None, (img,), {}, "image", ""),
        "normalize": (None, (img, 0.5, 0.25), {}, "image", ""),
        "normalize_fundamental": (None, (F,), {}, "", ""),
        "pixel_features": (None, (img,), {}, "image", ""),
        "project": (None, (s.points3d, P1), {}, "", ""),
        "projection_matrix": (None, (K, R, t), {}, "", ""),
        "ransac": (None, (cvgeo.HomographyEstimator(), src, dst), {"threshold_px": 1.0},
                   "", ""),
        "read_image": (None, (png,), {}, "", ""),
        "recover_pose": (None, (E, s.x1_true, s.x2_true), {"K1": K, "K2": K}, "", ""),
        "rectify_uncalibrated": (None, (F, x1, x2), {"image_size": (480, 640)}, "", ""),
        "refine_fundamental": (None, (F, x1, x2), {}, "", ""),
        "resize": (None, (img, (12, 30)), {}, "image", ""),
        "rgb_to_lab": (None, (rgb,), {}, "image", ""),
        "rotation_angle": (None, (R,), {}, "", ""),
        "rotation_from_axis_angle": (None, (np.array([0.1, 0.2, 0.3]),), {}, "", ""),
        "rotation_shears": (None, (0.3,), {}, "", ""),
        "separable_convolve": (None, (img, np.array([1.0, 2, 1]), np.array([1.0, 0, -1])), {},
                               "image", ""),
        "skew": (None, (np.array([1.0, 2.0, 3.0]),), {}, "", ""),
        "sobel": (None, (img,), {}, "image", ""),
        "spectrum": (None, (img,), {}, "image", ""),
        "synthetic_two_view_scene": (None, (20,), {}, "", ""),
        "to_display": (None, (img,), {}, "image", ""),
        "to_float": (None, (img,), {}, "image", ""),
        "to_gray": (None, (rgb,), {}, "image", ""),
        "to_homogeneous": (None, (pts,), {}, "points", ""),
        "to_uint8": (None, (img,), {}, "image", ""),
        "find_essential": (None, (x1, x2), {"K1": K, "K2": K}, "points", ""),
        "essential_5point": (None, (s.x1_true[:5] @ np.linalg.inv(K)[:2, :2].T
                                    + np.linalg.inv(K)[:2, 2],
                                    s.x2_true[:5] @ np.linalg.inv(K)[:2, :2].T
                                    + np.linalg.inv(K)[:2, 2]), {}, "points", ""),
        "box_convert": (None, (boxes,), {"src": "xyxy", "dst": "cxcywh"}, "", ""),
        "box_area": (None, (boxes,), {}, "", ""),
        "clip_boxes": (None, (boxes,), {"image_shape": (16, 16)}, "", ""),
        "box_iou": (None, (boxes, boxes[:3]), {}, "", ""),
        "generalized_box_iou": (None, (boxes, boxes[:3]), {}, "", ""),
        "distance_box_iou": (None, (boxes, boxes[:3]), {}, "", ""),
        "complete_box_iou": (None, (boxes, boxes[:3]), {}, "", ""),
        "generalized_box_iou_loss": (None, (boxes, boxes[::-1]), {}, "", ""),
        "distance_box_iou_loss": (None, (boxes, boxes[::-1]), {}, "", ""),
        "complete_box_iou_loss": (None, (boxes, boxes[::-1]), {}, "", ""),
        "nms": (None, (boxes, box_scores), {"iou_threshold": 0.5}, "", ""),
        "batched_nms": (None, (boxes, box_scores, box_labels), {"iou_threshold": 0.5}, "",
                        ""),
        "soft_nms": (None, (boxes, box_scores), {}, "", ""),
        "draw_boxes": (None, (img, boxes[:2]), {}, "image", ""),
        "set_num_threads": (None, (1,), {}, "", ""),
        "get_num_threads": (None, (), {}, "", ""),
        "triangulate_points": (None, (s.x1_true, s.x2_true, P1, P2), {}, "", ""),
        "undersegmentation_error": (None, (lab, lab2), {}, "", ""),
        "variation_of_information": (None, (lab, lab2), {}, "", ""),
        "warp": (None, (img, H), {"output_shape": (12, 20)}, "image", ""),
        "write_image": (None, (os.path.join(tmp, "out.png"), img), {}, "", ""),
        # classes: the constructor (transforms) or constructor + fit (the segmenter)
        "Affine": (None, (np.array([[1.0, 0.2, 3], [0.1, 1, 2], [0, 0, 1]]),), {}, "", ""),
        "Euclidean": (None, (), {"rotation": 0.3, "translation": (1.0, 2.0)}, "", ""),
        "Projective": (None, (H,), {}, "", ""),
        "Similarity": (None, (), {"scale": 2.0, "rotation": 0.3, "translation": (1.0, 2.0)},
                       "", ""),
        "Translation": (None, (), {"translation": (1.0, 2.0)}, "", ""),
        "HomographyEstimator": (None, (), {}, "", ""),
        "KMeansSegmenter": (segmenter, (3,), {}, "", "KMeansSegmenter"),
        "KMeansSegmenter.fit/predict": (segmenter_data, (img,), {}, "image",
                                        "KMeansSegmenter"),
    }
    out = {}
    for name, (fn, args, kwargs, kind, prefix) in calls.items():
        fn = fn if fn is not None else getattr(cvgeo, name)
        out[name] = (fn, args, kwargs, kind, prefix or name)
    return out


#: Exceptions other than ValueError/TypeError that a function documents.
ALLOWED_EXTRA = {"read_image": (FileNotFoundError,)}

#: Functions documented to pass NaN through (NaN marks a missing disparity): a NaN result
#: is a finding only when no input held NaN.
NAN_PASSTHROUGH = {"depth_from_disparity"}


def _input_has_nan(args: tuple, kwargs: dict) -> bool:
    return any(_has_nan(v) for v in (*args, *kwargs.values()))


def _has_nan(value: Any, depth: int = 0) -> bool:
    if depth > 6:
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc" and bool(np.isnan(value).any())
    if isinstance(value, (float, np.floating, complex)):
        return bool(np.isnan(value))
    if is_dataclass(value) and not isinstance(value, type):
        return any(_has_nan(getattr(value, f.name), depth + 1) for f in fields(value))
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_nan(v, depth + 1) for v in value.values())
    matrix = getattr(value, "matrix", None)  # transforms
    return isinstance(matrix, np.ndarray) and _has_nan(matrix, depth + 1)


def probes(name: str, spec) -> list[tuple[str, tuple, dict]]:
    """Every ``(label, args, kwargs)`` probe of one callable."""
    import inspect

    fn, args, kwargs, kind, _ = spec
    out = [("base", args, dict(kwargs))]
    if kind and args:
        pool = hostile_images() if kind == "image" else hostile_points()
        out += [(f"data={label}", (v,) + args[1:], dict(kwargs)) for label, v in pool.items()]
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]
    except (TypeError, ValueError):
        params = []
    for i, p in enumerate(params):
        for label, v in hostile_values().items():
            if i < len(args) and p.kind != p.KEYWORD_ONLY:
                a = args[:i] + (v,) + args[i + 1:]
                out.append((f"{p.name}={label}", a, dict(kwargs)))
            elif p.kind != p.POSITIONAL_ONLY:
                out.append((f"{p.name}={label}", args, {**kwargs, p.name: v}))
    return out


def run_one(name: str, spec, label: str, args: tuple, kwargs: dict) -> dict:
    fn, _, _, _, prefix = spec
    t0 = time.perf_counter()
    outcome: dict[str, Any] = {"name": name, "probe": label}
    try:
        result = fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        outcome["raised"] = type(exc).__name__
        if not msg.startswith(f"{prefix}: ") and not msg.startswith(f"{prefix}."):
            outcome["problem"] = f"{type(exc).__name__} not naming {prefix}: {msg[:200]}"
    except ALLOWED_EXTRA.get(name, ()) as exc:
        outcome["raised"] = type(exc).__name__
    except BaseException as exc:  # noqa: BLE001 - every other type is a finding
        outcome["problem"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    else:
        if _has_nan(result) and not (name in NAN_PASSTHROUGH and _input_has_nan(args, kwargs)):
            outcome["problem"] = "NaN in the result without an error"
    outcome["seconds"] = round(time.perf_counter() - t0, 3)
    if outcome["seconds"] > PROBE_SECONDS:
        outcome["problem"] = f"took {outcome['seconds']} s (a hang)"
    return outcome


def main(names: list[str], skip: int = 0) -> None:
    """Run the probes of ``names``, one JSON line each, flushed (for the parent).

    The first ``skip`` probes are skipped: the parent restarts a worker after the probe
    that crashed or hung it.
    """
    import resource
    import warnings

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # a probe that writes a relative path writes here
        specs = base_calls(tmp)
        for name in names:  # warm-up: numba kernels load or compile outside the timing
            fn, args, kwargs, _, _ = specs[name]
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001, S110 - the base probe reports it
                pass
        k = -1
        for name in names:
            for label, args, kwargs in probes(name, specs[name]):
                k += 1
                if k < skip:
                    continue
                print(json.dumps({"start": name, "probe": label, "index": k}), flush=True)
                print(json.dumps(run_one(name, specs[name], label, args, kwargs)),
                      flush=True)


if __name__ == "__main__":
    main(sys.argv[2:], skip=int(sys.argv[1]))
