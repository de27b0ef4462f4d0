"""Contract tests generated from ``cvgeo.__all__``.

Every public name is either an image function, listed in ``CONTRACTS`` with a call that
fixes its other arguments, or listed in ``EXEMPT`` with the reason it is not one; a new
public name in neither fails :func:`test_every_public_name_is_covered`, and a function
whose first parameter is an image cannot be exempted as "takes no image". Each contract
is checked to: reject NaN/inf and a wrong number of dimensions with its own name in the
message; give the same answer for a uint8 image and its float32 / 255 copy; never mutate
its input; give the same answer twice.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np
import pytest
import skimage.data

import cvgeo


@dataclass(frozen=True)
class Contract:
    name: str                      # the function name the error message must carry
    call: Callable[[np.ndarray], Any]
    colour: bool = True            # accepts (H, W, 3) as well as (H, W)
    atol: float = 1e-5             # uint8-vs-float tolerance for float outputs
    grey: bool = True              # accepts (H, W)
    uint8: bool = True             # accepts uint8 (a normalised-image function may not)


CONTRACTS = [
    Contract("to_float", lambda im: cvgeo.to_float(im)),
    Contract("to_gray", lambda im: cvgeo.to_gray(im)),
    Contract("normalize", lambda im: cvgeo.normalize(im, 0.5, 0.25)),
    Contract("resize", lambda im: cvgeo.resize(im, (37, 53))),
    Contract("to_uint8", lambda im: cvgeo.to_uint8(im), atol=0),
    Contract("warp", lambda im: cvgeo.warp(im, np.array([[0.9, 0.1, 3.5], [-0.12, 1.05, -2.0],
                                                         [4e-4, -3e-4, 1.0]]),
                                           output_shape=(50, 70))),
    Contract("gaussian_filter", lambda im: cvgeo.gaussian_filter(im, 1.5)),
    Contract("separable_convolve",
             lambda im: cvgeo.separable_convolve(im, np.array([1.0, 2.0, -1.0]),
                                                 np.array([0.25, 0.5, 0.25]))),
    Contract("sobel", lambda im: cvgeo.sobel(im), atol=1e-4),
    Contract("gaussian_gradient", lambda im: cvgeo.gaussian_gradient(im, 1.0)),
    Contract("canny", lambda im: cvgeo.canny(im, sigma=1.0)),
    Contract("hough_circles", lambda im: cvgeo.hough_circles(im, radii=np.arange(6, 16)),
             colour=False),
    Contract("draw_lines", lambda im: cvgeo.draw_lines(im, np.array([[0.6, 0.8, -30.0]]))),
    Contract("draw_segments",
             lambda im: cvgeo.draw_segments(im, np.array([[3.0, 4.0, 60.0, 40.0]]))),
    Contract("draw_boxes", lambda im: cvgeo.draw_boxes(im, np.array([[3.5, 4.5, 60.0, 40.0]]))),
    Contract("draw_circles", lambda im: cvgeo.draw_circles(im, np.array([[40.0, 30.0, 12.0]]))),
    # fourier
    Contract("spectrum", lambda im: cvgeo.spectrum(im, window="hann"), colour=False,
             atol=1e-4),
    Contract("apply_filter", lambda im: cvgeo.apply_filter(
        im, cvgeo.frequency_filter("bandpass", cutoff=(0.05, 0.2), kind="butterworth"))),
    Contract("fft_convolve", lambda im: cvgeo.fft_convolve(
        im, np.arange(15.0).reshape(3, 5) / 105.0)),
    Contract("gaussian_blur", lambda im: cvgeo.gaussian_blur(im, 3.0, method="fft")),
    Contract("gaussian_blur", lambda im: cvgeo.gaussian_blur(im, 1.5)),  # auto: spatial
    Contract("hybrid_image", lambda im: cvgeo.hybrid_image(
        im, im[::-1], low_cutoff=0.05, high_cutoff=0.1)),
    Contract("hybrid_scales", lambda im: cvgeo.hybrid_scales(im, 3)),
    Contract("downsample", lambda im: cvgeo.downsample(im, 3)),
    Contract("gaussian_pyramid", lambda im: cvgeo.gaussian_pyramid(im, levels=3)),
    Contract("laplacian_pyramid", lambda im: cvgeo.laplacian_pyramid(im, levels=3)),
    Contract("pixel_features", lambda im: cvgeo.pixel_features(im, spatial_weight=0.5)),
    Contract("kmeans_segment", lambda im: cvgeo.kmeans_segment(im, 5, seed=0)),
    Contract("mean_shift_segment",
             lambda im: cvgeo.mean_shift_segment(im, spatial_bandwidth_px=4, range_bandwidth=0.1)),
    Contract("felzenszwalb", lambda im: cvgeo.felzenszwalb(im, scale=100, sigma=0.8)),
    Contract("rgb_to_lab", lambda im: cvgeo.rgb_to_lab(im), grey=False, atol=2e-3),
    Contract("denormalize", lambda im: cvgeo.denormalize(im, 0.5, 0.25), uint8=False),
    Contract("KMeansSegmenter.fit",
             lambda im: cvgeo.KMeansSegmenter(4, seed=0).fit(im).labels_),
]

#: Public names that are not image functions, or are image functions the contracts above
#: do not fit, each with the reason. Hostile input for all of them is in test_fuzz.py.
_RECORD = "a frozen result record, not a function"
_NO_IMAGE = "takes no image"
EXEMPT: dict[str, str] = {
    "BORDERS": "a constant", "DEFAULT_MAX_PIXELS": "a constant",
    "DegenerateError": "an exception type", "PipelineFileError": "an exception type",
    **dict.fromkeys((
        "CorrectedMatches", "Epipoles", "FrequencyGrid",
        "FundamentalResult", "Gradient", "HoughCircles", "HoughLinePeaks",
        "HoughLines", "KMeansResult", "LaplacianPyramid", "MeanShiftResult",
        "NormalizedPoints", "OpSpec", "Pose", "RansacResult", "HomographyResult", "RecoveredPose",
        "Rectification", "Spectrum", "StereoCorrespondences", "Trace", "TraceStep",
        "TwoViewScene", "FrequencyFilter", "EssentialResult", "SoftNMSResult"), _RECORD),
    **dict.fromkeys(("Affine", "Euclidean", "Projective", "Similarity", "Translation",
                     "HomographyEstimator"), _NO_IMAGE + ": a geometric model"),
    **dict.fromkeys((
        "correct_matches", "decompose_essential", "epipolar_distance", "epipolar_lines",
        "epipoles", "essential_from_fundamental", "find_fundamental", "find_homography",
        "from_homogeneous", "fundamental_7point", "fundamental_8point",
        "fundamental_from_essential", "fundamental_from_pose", "hartley_normalize",
        "intrinsic_matrix", "is_at_infinity", "normalize_fundamental", "project",
        "projection_matrix", "ransac", "recover_pose", "rectify_uncalibrated",
        "refine_fundamental", "rotation_angle", "rotation_from_axis_angle",
        "rotation_shears", "skew", "synthetic_two_view_scene", "to_homogeneous",
        "triangulate_points", "find_essential", "essential_5point"),
        _NO_IMAGE + ": points, matrices or camera parameters"),
    **dict.fromkeys(("box_convert", "box_area", "clip_boxes", "box_iou", "generalized_box_iou",
                     "distance_box_iou", "complete_box_iou", "generalized_box_iou_loss",
                     "distance_box_iou_loss", "complete_box_iou_loss", "nms", "batched_nms",
                     "soft_nms"), _NO_IMAGE + ": boxes (N, 4) and scores"),
    "BOX_FORMATS": "a constant",
    **dict.fromkeys(("set_num_threads", "get_num_threads"),
                    _NO_IMAGE + ": the thread-count switch"),
    **dict.fromkeys(("estimate_bandwidth", "kmeans", "mean_shift"),
                    _NO_IMAGE + ": feature samples (n_samples, n_features)"),
    **dict.fromkeys(("achievable_segmentation_accuracy", "adjusted_rand_index",
                     "boundary_recall", "undersegmentation_error",
                     "variation_of_information"), _NO_IMAGE + ": two label maps"),
    **dict.fromkeys(("frequency_filter", "frequency_grid", "gaussian_kernel"),
                    _NO_IMAGE + ": builds a filter or grid from numbers"),
    "hough_line_peaks": _NO_IMAGE + ": a HoughLines result",
    **dict.fromkeys(("Pipeline", "Step", "make_pipeline", "load_pipeline", "save_pipeline",
                     "register_op", "op_parameters",
                     "read_image"), _NO_IMAGE + ": pipelines, files and folders"),
    "correspondences_from_disparity": "a disparity map in pixels, not intensities: the "
                                      "uint8 = float / 255 rule does not apply",
    "depth_from_disparity": "a disparity map in pixels, not intensities: the uint8 = "
                            "float / 255 rule does not apply; NaN marks missing disparity",
    **dict.fromkeys(("hough_lines", "hough_segments"),
                    "takes a binary edge map (bool or 0/1), not intensities: the uint8 = "
                    "float / 255 rule does not apply"),
    "to_display": "turns any step output into a saveable image: uint8 passes unchanged "
                  "and floats are stretched, by design",
    "write_image": "writes a file: uint8 is written as it is, floats are rounded (the "
                   "round trip is tested in test_image.py)",
}

IDS = [c.name for c in CONTRACTS]
_IMAGE_PARAMS = {"image", "low_image", "edges", "output", "disparity"}


@pytest.mark.parametrize("name", cvgeo.__all__)
def test_every_public_name_is_covered(name):
    contracted = {c.name.split(".")[0] for c in CONTRACTS}
    assert (name in contracted) != (name in EXEMPT), (
        f"{name} must have a contract in CONTRACTS or a reason in EXEMPT (not both)")
    obj = getattr(cvgeo, name)
    if name in EXEMPT and EXEMPT[name].startswith(_NO_IMAGE) and callable(obj):
        target = obj.__init__ if inspect.isclass(obj) else obj
        params = [p for p in inspect.signature(target).parameters if p != "self"]
        assert not params or params[0] not in _IMAGE_PARAMS, (
            f"{name} takes an image first: it needs a contract")


def test_exemptions_are_public():
    assert set(EXEMPT) <= set(cvgeo.__all__)


def _image(colour: bool) -> np.ndarray:
    img = skimage.data.astronaut()[100:164, 180:260]  # real texture, (64, 80, 3)
    return img if colour else img[..., 1].copy()


def _outputs(result: Any) -> list[np.ndarray]:
    """Every array in a result (an array, or a frozen dataclass of arrays)."""
    if isinstance(result, np.ndarray):
        return [result]
    if is_dataclass(result):
        return [v for f in fields(result) for v in _outputs(getattr(result, f.name))]
    if isinstance(result, (list, tuple)):
        return [v for r in result for v in _outputs(r)]
    return [np.asarray(result)] if np.isscalar(result) else []


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_nan_and_inf(c: Contract):
    for bad in (np.nan, np.inf):
        img = cvgeo.to_float(_image(not c.grey))
        img[5, 7] = bad
        with pytest.raises(ValueError, match=rf"^{c.name}: .*finite"):
            c.call(img)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_wrong_ndim(c: Contract):
    for bad in (np.zeros(5, np.float32), np.zeros((2, 4, 4, 3), np.float32)):
        with pytest.raises(ValueError, match=rf"^{c.name}: .*got shape"):
            c.call(bad)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_non_array(c: Contract):
    with pytest.raises(TypeError, match=rf"^{c.name}: "):
        c.call([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_rejects_values_beyond_float32_computation(c: Contract):
    """float64 values that float32 arithmetic would turn into inf are refused up front."""
    img = cvgeo.to_float(_image(not c.grey)).astype(np.float64)
    for big in (1e39, 1e300, -1e11):
        bad = img.copy()
        bad[3, 4] = big
        with pytest.raises(ValueError, match=rf"^{c.name}: .*magnitude at most 1e\+10"):
            c.call(bad)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_uint8_and_float_agree(c: Contract, colour: bool):
    if colour and not c.colour:
        pytest.skip(f"{c.name} takes grey images only")
    if not colour and not c.grey:
        pytest.skip(f"{c.name} takes colour images only")
    if not c.uint8:
        pytest.skip(f"{c.name} takes float images only (a normalised image)")
    img8 = _image(colour)
    a = _outputs(c.call(img8))
    b = _outputs(c.call(img8.astype(np.float32) / np.float32(255)))
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert x.shape == y.shape
        if c.name == "to_uint8":  # uint8 in, uint8 out: the identity; float in: rounded
            np.testing.assert_array_equal(x, y)
        elif x.dtype.kind in "biu":
            # discrete outputs (edge maps, labels) may differ where a float32 tie flips
            assert np.mean(x != y) <= 1e-3, f"{c.name}: {np.mean(x != y):.2%} differ"
        else:
            np.testing.assert_allclose(x, y, atol=c.atol, rtol=1e-5)


@pytest.mark.parametrize("c", CONTRACTS, ids=IDS)
def test_input_not_mutated_and_deterministic(c: Contract):
    first_kind = [_image(c.colour)] if c.uint8 else []
    for img in (*first_kind, cvgeo.to_float(_image(c.colour))):
        before = img.copy()
        first = _outputs(c.call(img))
        np.testing.assert_array_equal(img, before)
        second = _outputs(c.call(img))
        for x, y in zip(first, second):
            np.testing.assert_array_equal(x, y)
