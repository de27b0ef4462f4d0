"""The gallery: every algorithm run on bundled images, written as an HTML page of PNGs.

``cvgeo gallery -o DIR`` (or :func:`build_gallery`) is the project's main job: it needs
no arguments and no network (the inputs ship with scikit-image), shows progress, and
writes ``DIR/index.html`` with one PNG per figure, the parameters of every step and
the time each took.

The page is a list of sections, one small function per algorithm family, each
returning a :class:`Section` of :class:`Figure` s (a figure is a pipeline applied to a
named bundled image). To add a family, write ``def section_<family>() -> Section`` and
append it to :data:`SECTIONS`.

A section whose module cannot be imported is shown as *unavailable* (an optional part
that is not installed); any other error in a figure is shown on the page, reported in
the result, and makes ``cvgeo gallery`` exit with status 1.
"""

from __future__ import annotations

import html
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvgeo._io import atomic_write
from cvgeo.pipeline import Pipeline, Step, make_pipeline

__all__ = ["GalleryResult", "build_gallery"]


@dataclass(frozen=True)
class Figure:
    """One picture of the gallery: ``pipeline`` applied to the bundled image ``source``.

    ``note`` is shown under the picture; a callable ``() -> str`` is called after the
    pipeline has run, so a note can report what the run measured (a trained model's score).
    """

    title: str
    source: str
    pipeline: Pipeline
    note: str | Callable[[], str] = ""


@dataclass(frozen=True)
class Section:
    """A titled group of figures (one algorithm family)."""

    title: str
    figures: tuple[Figure, ...]
    text: str = ""


@dataclass(frozen=True)
class GalleryResult:
    """What :func:`build_gallery` wrote.

    Attributes
    ----------
    index : pathlib.Path
        The HTML page.
    images : tuple of pathlib.Path
        Every PNG the page shows.
    failures : tuple of str
        ``"section / figure: error"`` for each figure that failed.
    unavailable : tuple of str
        Sections skipped because their module is not installed.
    seconds : float
    """

    index: Path
    images: tuple[Path, ...]
    failures: tuple[str, ...]
    unavailable: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.failures


# -------------------------------------------------------------------- inputs
_BUNDLED: dict[str, Callable[[], np.ndarray]] = {
    "camera": lambda: _skdata("camera"),
    "astronaut": lambda: _skdata("astronaut"),
    "coins": lambda: _skdata("coins"),
    "checkerboard": lambda: _skdata("checkerboard"),
    "astronaut_small": lambda: _small_astronaut(),
    "motorcycle": lambda: _skdata("stereo_motorcycle")[0],
    "digits": lambda: _digits_montage(),
    "scenes": lambda: _scenes_montage(),
    "digit_strings": lambda: _digit_strings_montage(),
    "detection_scenes": lambda: _detection_montage(),
}
_cache: dict[str, np.ndarray] = {}


def _skdata(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()


def _small_astronaut() -> np.ndarray:
    from cvgeo.image import resize, to_uint8

    return to_uint8(resize(bundled_image("astronaut"), (256, 256)))


#: The deep section's input: sklearn's last ``DIGITS_HELD_OUT`` digits, ``DIGITS_TILE`` px.
DIGITS_HELD_OUT, DIGITS_TILE = 80, 32


def _digits_montage() -> np.ndarray:
    """sklearn's last 80 digits, each resized from 8x8 to 32x32, 8 rows x 10, uint8."""
    from sklearn.datasets import load_digits

    from cvgeo.image import resize, to_uint8

    digits = load_digits().images[-DIGITS_HELD_OUT:] / 16.0  # (80, 8, 8) in [0, 1]
    t = DIGITS_TILE
    tiles = np.stack([resize(d.astype(np.float32), (t, t)) for d in digits])  # (80, t, t)
    montage = tiles.reshape(8, 10, t, t).transpose(0, 2, 1, 3).reshape(8 * t, 10 * t)
    return to_uint8(np.clip(montage, 0.0, 1.0))


#: The U-Net section's input: ``SCENES_HELD_OUT`` generated scenes of ``SCENES_TILE`` px,
#: seed ``SCENES_SEED`` (the gallery's U-Net trains on seed 0).
SCENES_HELD_OUT, SCENES_TILE, SCENES_SEED = 12, 48, 1000


def _scenes_montage() -> np.ndarray:
    """12 held-out segmentation scenes (circles, squares, triangles), 48 x 48 each, in 3
    rows x 4, uint8. The generator is :func:`deep.segdata.make_segmentation_scenes`
    (imported here, when the image is first asked for: it needs torch)."""
    from cvgeo.image import to_uint8
    from deep.segdata import make_segmentation_scenes

    t = SCENES_TILE
    tiles = make_segmentation_scenes(SCENES_HELD_OUT, image_size=t, seed=SCENES_SEED).images
    montage = tiles.reshape(3, 4, t, t).transpose(0, 2, 1, 3).reshape(3 * t, 4 * t)
    return to_uint8(montage)


#: The captioning section's input: ``STRINGS_HELD_OUT`` strings of three of sklearn's
#: digits (8 x 28 each) made of held-out digit images, seed ``STRINGS_SEED``.
STRINGS_HELD_OUT, STRINGS_SHAPE, STRINGS_SEED = 16, (8, 28), 1


def _digit_strings_montage() -> np.ndarray:
    """16 held-out digit strings (:func:`deep.text.make_digit_strings`, split "test"),
    8 x 28 each, in 8 rows x 2, uint8 (needs torch)."""
    from cvgeo.image import to_uint8
    from deep.text import make_digit_strings

    h, w = STRINGS_SHAPE
    tiles = make_digit_strings(STRINGS_HELD_OUT, length=3, split="test",
                               seed=STRINGS_SEED).images  # (16, 8, 28) in [0, 1]
    montage = tiles.reshape(8, 2, h, w).transpose(0, 2, 1, 3).reshape(8 * h, 2 * w)
    return to_uint8(np.clip(montage, 0.0, 1.0))


#: The detection section's input: ``DETECT_HELD_OUT`` scenes of ``DETECT_TILE`` px with
#: seed ``DETECT_SEED`` (the gallery's detector trains on seed 0).
DETECT_HELD_OUT, DETECT_TILE, DETECT_SEED = 8, 64, 2000


def _detection_montage() -> np.ndarray:
    """8 held-out detection scenes (circles, squares, triangles), 64 x 64 each, 2 rows x 4,
    uint8. The generator is :func:`deep.scenes.make_detection_scenes` (imported when the
    image is first asked for: it needs torch)."""
    from cvgeo.image import to_uint8
    from deep.scenes import make_detection_scenes

    t = DETECT_TILE
    tiles = make_detection_scenes(DETECT_HELD_OUT, image_size=t, seed=DETECT_SEED).images
    montage = tiles.reshape(2, 4, t, t).transpose(0, 2, 1, 3).reshape(2 * t, 4 * t)
    return to_uint8(montage)


def bundled_image(name: str) -> np.ndarray:
    """A sample image shipped with an installed package (no download): ``"camera"``,
    ``"astronaut"``, ``"coins"``, ``"checkerboard"``, ``"astronaut_small"`` (256 x 256),
    ``"motorcycle"`` (the left view of skimage's stereo pair), ``"digits"`` (a montage of
    sklearn's last 80 digits at 32 x 32), ``"scenes"`` (12 generated segmentation scenes
    at 48 x 48; needs torch), ``"digit_strings"`` (16 strings of three held-out sklearn
    digits, 8 x 28 each; needs torch), ``"detection_scenes"`` (8 generated detection
    scenes at 64 x 64; needs torch). Read-only."""
    if name not in _BUNDLED:
        raise ValueError(f"bundled_image: name must be one of {', '.join(_BUNDLED)}, got "
                         f"{name!r}")
    if name not in _cache:
        img = _BUNDLED[name]()
        img.setflags(write=False)
        _cache[name] = img
    return _cache[name]


# ------------------------------------------------------------------ sections
def section_image_basics() -> Section:
    """cvgeo.image: grey conversion, resizing, normalisation, dtype scaling."""
    return Section("Image basics", (
        Figure("Grey (Rec. 709 luma)", "astronaut", make_pipeline("to_gray")),
        Figure("Shrink 4x, area averaging", "astronaut",
               make_pipeline(Step("resize", output_shape=(128, 128), interpolation="area"))),
        Figure("Shrink to 32 x 32, enlarge 4x bicubic", "camera",
               make_pipeline(Step("resize", output_shape=(32, 32), interpolation="area"),
                             Step("resize", output_shape=(128, 128),
                                  interpolation="bicubic"))),
        Figure("Normalise (mean 0.5, std 0.25), shown stretched", "coins",
               make_pipeline(Step("normalize", mean=0.5, std=0.25)),
               note="The output lies outside [0, 1]; the PNG stretches min..max."),
        Figure("Min-max stretch", "coins", make_pipeline(Step("to_float", scale="minmax"))),
    ), text="Conversions every algorithm starts from: float32 in [0, 1], channel-last.")


def section_edges() -> Section:
    """cvgeo.filters and cvgeo.edges: Gaussian smoothing, gradients, Canny."""
    import cvgeo.edges  # noqa: F401  (unavailable section if missing)
    import cvgeo.filters  # noqa: F401

    return Section("Filters and Canny edges", (
        Figure("Gaussian filter, sigma 3", "astronaut_small",
               make_pipeline(Step("gaussian_filter", sigma=3.0))),
        Figure("Sobel gradient magnitude", "camera",
               make_pipeline("to_gray", "sobel")),
        Figure("Canny, sigma 1", "camera", make_pipeline("to_gray", Step("canny", sigma=1.0))),
        Figure("Canny, sigma 3", "camera", make_pipeline("to_gray", Step("canny", sigma=3.0))),
        Figure("Canny on coins, quantile thresholds", "coins",
               make_pipeline(Step("canny", sigma=2.0, low_threshold=0.7, high_threshold=0.9,
                                  use_quantiles=True))),
    ), text="Separable Gaussian filtering, Sobel gradients, Canny (1986) with hysteresis.")


def section_hough() -> Section:
    """Hough lines, probabilistic segments and circles, drawn over their input."""
    return Section("Hough transform", (
        Figure("Lines: Canny, then the strongest (rho, theta) peaks", "checkerboard",
               make_pipeline(Step("canny", sigma=1.0), Step("hough_lines"))),
        Figure("Progressive probabilistic Hough segments", "camera",
               make_pipeline(Step("canny", sigma=2.0), Step("hough_segments", min_votes=20,
                                                             min_length_px=30.0, max_gap_px=5))),
        Figure("Circles by gradient-direction voting, radii 14-40 px", "coins",
               make_pipeline(Step("hough_circles", radii=list(range(14, 41))))),
    ), text="Voting in numba; peaks suppressed across the theta = 0 / pi seam.")


def section_segment() -> Section:
    """k-means, mean-shift and Felzenszwalb segmentations, painted with mean colours."""
    return Section("Segmentation", (
        Figure("k-means, k=6 in Lab", "astronaut_small",
               make_pipeline(Step("kmeans_segment", n_clusters=6, space="lab", seed=0))),
        Figure("k-means, k=6 in Lab + position (spatial_weight 1)", "astronaut_small",
               make_pipeline(Step("kmeans_segment", n_clusters=6, space="lab", spatial_weight=1.0,
                                  seed=0))),
        Figure("Mean shift, spatial 6 px, range 0.08", "astronaut_small",
               make_pipeline(Step("mean_shift_segment", spatial_bandwidth_px=6.0,
                                  range_bandwidth=0.08, min_size=40))),
        Figure("Felzenszwalb-Huttenlocher, scale 200", "astronaut",
               make_pipeline(Step("felzenszwalb", scale=200.0, sigma=0.8, min_size=50))),
    ), text="Each segment painted with the mean colour of the pixels it holds.")


def section_fourier() -> Section:
    """Spectra, Gaussian blur in the frequency domain, anti-aliased downsampling."""
    return Section("Fourier filtering", (
        Figure("Centred log-magnitude spectrum (Hann window)", "camera",
               make_pipeline(Step("spectrum", window="hann"))),
        Figure("Gaussian blur, sigma 8, FFT path", "astronaut_small",
               make_pipeline(Step("gaussian_blur", sigma=8.0, method="fft"))),
        Figure("Downsample 4x, low-passed below the new Nyquist first", "camera",
               make_pipeline(Step("downsample", factor=4))),
    ), text="Convolution theorem with real transforms; downsampling that removes the "
            "frequencies the new grid cannot hold before it samples.")


def section_geometry() -> Section:
    """cvgeo.geometry: warping by transforms of the 2-D hierarchy."""
    from cvgeo.geometry.transforms import Euclidean, Similarity, Translation

    centre = Translation(translation=(255.5, 255.5))
    rotate = centre @ Euclidean(rotation=0.35) @ centre.inverse()  # about the centre
    zoom = (Translation(translation=(-3 * 200.0, -3 * 80.0))
            @ Similarity(scale=3.0))  # 3x, the face in view
    tilt = np.array([[0.85, -0.1, 60.0], [0.05, 0.8, 40.0], [-2e-4, -4e-4, 1.0]])
    return Section("Geometry: warping", (
        Figure("Rotation by 0.35 rad about the centre, bilinear, reflect border", "astronaut",
               make_pipeline(Step("warp", H=rotate.matrix, output_shape=(512, 512),
                                  border="reflect"))),
        Figure("A homography (perspective tilt), bicubic", "astronaut",
               make_pipeline(Step("warp", H=tilt, output_shape=(512, 512),
                                  interpolation="bicubic"))),
        Figure("3x zoom, nearest", "astronaut",
               make_pipeline(Step("warp", H=zoom.matrix, output_shape=(256, 256),
                                  interpolation="nearest"))),
        Figure("3x zoom, bicubic", "astronaut",
               make_pipeline(Step("warp", H=zoom.matrix, output_shape=(256, 256),
                                  interpolation="bicubic"))),
    ), text="Inverse mapping through H^-1 (numba); H maps source (x, y) to destination.")


# Two views for the epipolar figures: skimage's motorcycle pair (a rectified stereo pair,
# Middlebury 2014) with the right view turned by a known small rotation, so F is general.
_TURN_DEG = 4.0


def _two_views(left: np.ndarray):
    """``(left, right_turned, x1, x2)``: noisy ground-truth matches from the shipped
    disparity (sigma 0.5 px), 30 % of ``x2`` replaced by outliers, all in the turned view."""
    import skimage.data

    from cvgeo.geometry.camera import correspondences_from_disparity
    from cvgeo.geometry.transforms import Euclidean, Translation
    from cvgeo.geometry.warp import warp

    _, right, disparity = skimage.data.stereo_motorcycle()
    h, w = right.shape[:2]
    centre = Translation(translation=((w - 1) / 2, (h - 1) / 2))
    turn = centre @ Euclidean(rotation=np.radians(_TURN_DEG)) @ centre.inverse()
    right_turned = warp(right, turn.matrix, output_shape=(h, w))
    rng = np.random.default_rng(0)
    gt = correspondences_from_disparity(disparity, n_points=1000, seed=rng)
    x1 = gt.x1 + rng.normal(0, 0.5, gt.x1.shape)
    x2 = turn(gt.x2) + rng.normal(0, 0.5, gt.x2.shape)
    out = rng.random(len(x2)) < 0.3
    x2[out] = rng.uniform([0, 0], [w - 1, h - 1], (int(out.sum()), 2))
    return left, right_turned, x1, x2


def epipolar_lines_pair(left: np.ndarray) -> np.ndarray:
    """The two views side by side; 12 inlier matches and their epipolar lines (robust F)."""
    from cvgeo.draw import draw_circles, draw_lines
    from cvgeo.geometry.epipolar import epipolar_lines, find_fundamental
    from cvgeo.image import to_float

    left, right, x1, x2 = _two_views(left)
    r = find_fundamental(x1, x2, threshold_px=1.0)
    pick = np.flatnonzero(r.inlier_mask)[:: max(1, int(r.inlier_mask.sum()) // 12)][:12]
    views = [to_float(left), to_float(right)]
    colours = np.random.default_rng(1).uniform(0.3, 1.0, (len(pick), 3))
    for k, i in enumerate(pick):
        colour = tuple(colours[k])
        for v, (pts, other) in enumerate(((x1, x2), (x2, x1))):
            line = epipolar_lines(r.F, other[i:i + 1], image=2 if v == 0 else 1)
            views[v] = draw_lines(views[v], line, color=colour, thickness=2)
            views[v] = draw_circles(views[v], np.c_[pts[i:i + 1], [[5.0]]], color=colour,
                                    thickness=2)
    return np.hstack(views)


def rectified_pair(left: np.ndarray) -> np.ndarray:
    """Both views rectified by Hartley's method from the robust F, with shared rows drawn."""
    from cvgeo.draw import draw_lines
    from cvgeo.geometry.epipolar import find_fundamental, rectify_uncalibrated
    from cvgeo.geometry.warp import warp

    left, right, x1, x2 = _two_views(left)
    r = find_fundamental(x1, x2, threshold_px=1.0)
    rect = rectify_uncalibrated(r.F, x1[r.inlier_mask], x2[r.inlier_mask],
                                image_size=left.shape[:2])
    a = warp(left, rect.H1, output_shape=rect.output_shape)
    b = warp(right, rect.H2, output_shape=rect.output_shape)
    rows = np.linspace(0, rect.output_shape[0] - 1, 12)[1:-1]
    lines = np.c_[np.zeros_like(rows), np.ones_like(rows), -rows]  # y = row
    return np.hstack([draw_lines(v, lines, color=(0.2, 1.0, 0.3)) for v in (a, b)])


def section_epipolar() -> Section:
    """Two views: robust F, epipolar lines, uncalibrated rectification."""
    return Section("Epipolar geometry", (
        Figure("Robust F (7-point RANSAC, LO, Sampson polish): epipolar lines", "motorcycle",
               make_pipeline(epipolar_lines_pair),
               note=f"right view turned {_TURN_DEG:g} degrees; 1000 disparity matches, "
                    "sigma 0.5 px, 30 % outliers"),
        Figure("Hartley rectification: matches share rows", "motorcycle",
               make_pipeline(rectified_pair)),
    ), text="The right view and the matches come from skimage's motorcycle pair and its "
            "shipped disparity.")


def section_deep() -> Section:
    """deep: LeNet-5 trained on digits in seconds (unavailable without torch)."""
    from deep.gallery import section

    return section()


def section_explain() -> Section:
    """deep: Grad-CAM of the deep section's LeNet-5 (unavailable without torch)."""
    from deep.gallery_explain import section

    return section()


def section_unet() -> Section:
    """deep: a tiny U-Net trained here on generated scenes (unavailable without torch)."""
    from deep.gallery_unet import section

    return section()


def section_captioning() -> Section:
    """deep: a captioner trained here on digit strings (unavailable without torch)."""
    from deep.gallery_caption import section

    return section()


def section_detect() -> Section:
    """deep: a tiny SSD trained here on generated scenes (unavailable without torch)."""
    from deep.gallery_detect import section

    return section()


#: The gallery's sections, in page order: one function per algorithm family.
SECTIONS: list[Callable[[], Section]] = [
    section_image_basics,
    section_edges,
    section_hough,
    section_segment,
    section_fourier,
    section_geometry,
    section_epipolar,
    section_deep,
    section_explain,
    section_unet,
    section_captioning,
    section_detect,
]  # the ViT (examples/train_vit_digits.py) needs minutes of training: its example writes PNGs


# --------------------------------------------------------------------- build
def _params_html(pipe: Pipeline) -> str:
    rows = []
    for name, step in pipe.steps:
        try:
            params = step.get_params(deep=False) if hasattr(step, "get_params") else {}
        except Exception:  # noqa: BLE001  (unavailable op: shown, not fatal here)
            params = {}
        text = ", ".join(f"{k}={v!r}" for k, v in params.items() if v is not None)
        rows.append(f"<code>{html.escape(name)}</code>"
                    f"{'(' + html.escape(text) + ')' if text else ''}")
    return " &rarr; ".join(rows)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.grid{display:flex;flex-wrap:wrap;gap:1.2em}
figure{margin:0;width:300px}
figure img{width:300px;height:auto;image-rendering:pixelated;border:1px solid #ddd}
figcaption{font-size:.85em}
.err{color:#a00;white-space:pre-wrap;font-size:.8em}
.na{color:#777}
code{font-size:.9em}
"""


def build_gallery(outdir: str | os.PathLike = "cvgeo-gallery", *,
                  sections: list[Callable[[], Section]] | None = None,
                  progress: bool = True) -> GalleryResult:
    """Run every gallery section and write ``outdir/index.html`` plus its PNGs.

    Parameters
    ----------
    outdir : path
        Output folder (created). PNGs go to ``outdir/img/``.
    sections : list of callables or None
        Section functions; default :data:`SECTIONS`.
    progress : bool
        tqdm progress bar on stderr.

    Returns
    -------
    GalleryResult

    Notes
    -----
    Each figure's pipeline runs twice: once to warm up (numba kernels compile or load
    from cache the first time), then under :meth:`Pipeline.trace`, whose per-step
    times the page shows. The warm-up time is shown too.
    """
    from tqdm.auto import tqdm

    from cvgeo._checks import check_bool
    from cvgeo.image import to_uint8, write_image
    from cvgeo.ops import to_display

    progress = check_bool(progress, "build_gallery", "progress")
    t_start = time.perf_counter()
    out = Path(outdir)
    img_dir = out / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    built: list[tuple[str, Section | None, str]] = []
    unavailable: list[str] = []
    failures: list[str] = []
    for fn in sections if sections is not None else SECTIONS:
        label = fn.__name__.removeprefix("section_")
        try:
            built.append((label, fn(), ""))
        except ImportError as exc:
            unavailable.append(f"{label}: {exc}")
            built.append((label, None, f"unavailable in this install: {exc}"))
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
            built.append((label, None, traceback.format_exc()))

    n_figures = sum(len(s.figures) for _, s, _ in built if s is not None)
    bar = tqdm(total=n_figures, file=sys.stderr, disable=not progress, unit="fig",
               desc="cvgeo gallery", dynamic_ncols=True)
    images: list[Path] = []
    used_sources: dict[str, str] = {}
    body: list[str] = []
    for label, section, problem in built:
        if section is None:
            cls = "na" if problem.startswith("unavailable") else "err"
            body.append(f"<h2>{html.escape(label)}</h2><p class='{cls}'>"
                        f"{html.escape(problem)}</p>")
            continue
        body.append(f"<h2>{html.escape(section.title)}</h2><p>{html.escape(section.text)}</p>"
                    "<div class='grid'>")
        for i, fig in enumerate(section.figures):
            bar.set_postfix_str(f"{label}: {fig.title}"[:40])
            cap = (f"<b>{html.escape(fig.title)}</b><br>input: <code>"
                   f"{html.escape(fig.source)}</code><br>{_params_html(fig.pipeline)}")
            try:
                image = bundled_image(fig.source)
                if fig.source not in used_sources:
                    src_path = img_dir / f"input-{fig.source}.png"
                    write_image(src_path, to_uint8(image))
                    images.append(src_path)
                    used_sources[fig.source] = src_path.name
                t0 = time.perf_counter()
                fig.pipeline(image)
                first = time.perf_counter() - t0
                trace = fig.pipeline.trace(image)
                path = img_dir / f"{label}-{i:02d}.png"
                write_image(path, to_display(trace.output))
                images.append(path)
                times = ", ".join(f"{html.escape(s.name)} {s.seconds * 1e3:.1f} ms"
                                  for s in trace.steps)
                note = fig.note() if callable(fig.note) else fig.note
                body.append(
                    f"<figure><img src='img/{path.name}' alt='{html.escape(fig.title)}'>"
                    f"<figcaption>{cap}<br>time: {times} (first run {first * 1e3:.0f} ms)"
                    f"{'<br><i>' + html.escape(note) + '</i>' if note else ''}"
                    "</figcaption></figure>")
            except Exception as exc:  # noqa: BLE001  (shown on the page, reported)
                failures.append(f"{label} / {fig.title}: {type(exc).__name__}: {exc}")
                body.append(f"<figure><figcaption>{cap}<div class='err'>"
                            f"{html.escape(traceback.format_exc())}</div></figcaption></figure>")
            bar.update(1)
        body.append("</div>")
    bar.close()

    inputs = "".join(
        f"<figure><img src='img/{html.escape(p)}' alt='{html.escape(n)}'><figcaption>"
        f"<code>{html.escape(n)}</code></figcaption></figure>" for n, p in used_sources.items())
    seconds = time.perf_counter() - t_start
    from cvgeo import __version__

    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>cvgeo gallery</title><style>{_CSS}</style></head><body>"
        f"<h1>cvgeo gallery</h1><p>cvgeo {__version__}, Python {platform.python_version()}, "
        f"{html.escape(platform.platform())}; built in {seconds:.1f} s. Times are single "
        "runs after a warm-up run.</p>"
        + (f"<p class='err'>{len(failures)} figure(s) failed.</p>" if failures else "")
        + f"<h2>Inputs</h2><div class='grid'>{inputs}</div>" + "".join(body)
        + "</body></html>\n")
    index = out / "index.html"
    atomic_write(index, page.encode("utf-8"), clean_stale=True)
    return GalleryResult(index, tuple(images), tuple(failures), tuple(unavailable), seconds)
