"""Regression tests for hostile-input defects: one test per reported repro.

Calls that crashed the interpreter, hung or tried to allocate gigabytes run in a
subprocess with a memory cap and a timeout (``_isolated``), so this file fails cleanly,
rather than taking pytest down, wherever such a defect comes back.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

import cvgeo
from cvgeo import DegenerateError

ROOT = Path(__file__).resolve().parents[2]


def _isolated(code: str, timeout: float = 60.0) -> str:
    """Run ``code`` (with ``np`` and ``cvgeo`` imported) in a subprocess capped at 3 GB.

    Returns its stdout; fails the test on a crash, a hang or a non-zero exit.
    """
    prog = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
        import numpy as np
        import cvgeo
        def outcome(f):
            try:
                f()
            except Exception as exc:
                print(type(exc).__name__ + ": " + str(exc))
            else:
                print("returned")
    """) + textwrap.dedent(code)
    try:
        proc = subprocess.run([sys.executable, "-c", prog], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                   "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung for {timeout} s: {code.strip()}")
    assert proc.returncode == 0, f"crashed (exit {proc.returncode}): {proc.stderr[-500:]}"
    return proc.stdout


# ------------------------------------------------------------------ 1. segfaults
@pytest.mark.parametrize("call, expected", [
    ("cvgeo.kmeans(np.random.default_rng(4).random((200, 3)) * 1e160, 3)",
     "ValueError: kmeans: X must have a spread whose summed squares float64 can hold"),
    ("cvgeo.kmeans_segment(np.random.default_rng(0).random((16, 16, 3)) * 1e39, 3)",
     "ValueError: kmeans_segment: image must have values of magnitude at most 1e+10"),
    ("cvgeo.kmeans_segment(np.random.default_rng(0).random((16, 16, 3)), 3, "
     "spatial_weight=1e308)",
     "ValueError: kmeans_segment: spatial_weight must be in [0.0, 1000000.0]"),
])
def test_kmeans_overflow_is_an_error_not_a_segfault(call, expected):
    assert _isolated(f"outcome(lambda: {call})").startswith(expected)


def test_kmeans_is_scale_invariant_up_to_huge_values():
    """The samples are scaled before clustering, so 1e150 * X clusters exactly like X."""
    X = np.random.default_rng(4).random((200, 3))
    a = cvgeo.kmeans(X, 3, seed=0)
    for s in (1e150, 1e-150):
        b = cvgeo.kmeans(X * s, 3, seed=0)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_allclose(b.centers, a.centers * s, rtol=1e-12)
        assert math.isclose(b.inertia, a.inertia * s * s, rel_tol=1e-12)


def test_kmeans_kernel_gives_a_valid_label_even_on_inf_distances():
    """The assignment kernel's labels index the centres even if every distance is inf."""
    from cvgeo.segment._lloyd import _assign_kernel

    Xt = np.full((2, 5), 1e200)
    centers = np.array([[-1e200, -1e200], [1e200, -1e200]])
    labels = np.full(5, -7, np.int32)
    _assign_kernel(Xt, centers, labels, np.empty((2, 2)), np.empty(2), np.empty(5))
    assert set(labels.tolist()) <= {0, 1}


# --------------------------------------------------------- 3. unbounded work
@pytest.mark.parametrize("call, expected", [
    ("cvgeo.hybrid_scales(np.zeros((24, 24)), n=2**62)",
     "ValueError: hybrid_scales: n must be at most 5"),
    ("cvgeo.draw_lines(np.zeros((24, 24)), np.array([[0.6, 0.8, -3.0]]), thickness=10**6)",
     "ValueError: draw_lines: thickness must be an int in [1, 10000]"),
    ("cvgeo.draw_segments(np.zeros((24, 24)), np.array([[1.0, 1, 5, 5]]), thickness=10**6)",
     "ValueError: draw_segments: thickness must be an int in [1, 10000]"),
    ("cvgeo.draw_circles(np.zeros((24, 24)), np.array([[5.0, 5, 3]]), thickness=10**6)",
     "ValueError: draw_circles: thickness must be an int in [1, 10000]"),
    ("cvgeo.gaussian_filter(np.zeros((24, 24)), 1.0, truncate=1e9)",
     "ValueError: gaussian_filter: sigma and truncate must give a kernel radius"),
    ("cvgeo.gaussian_filter(np.zeros((24, 24)), 1e9)",
     "ValueError: gaussian_filter: sigma and truncate must give a kernel radius"),
    ("cvgeo.gaussian_kernel(1e9)",
     "ValueError: gaussian_kernel: sigma and truncate must give a kernel radius"),
    ("cvgeo.gaussian_blur(np.zeros((24, 24)), 1e9, method='fft')",
     "ValueError: gaussian_blur: sigma and truncate must give a kernel radius"),
    ("cvgeo.canny(np.random.default_rng(0).random((24, 24)), sigma=1e6)",
     "ValueError: canny: sigma must give a kernel radius"),
    ("cvgeo.resize(np.zeros((24, 24)), (100000, 100000))",
     "ValueError: resize: output_shape must have at most max_pixels=100000000 pixels"),
    ("cvgeo.warp(np.zeros((24, 24)), np.eye(3), output_shape=(100000, 100000))",
     "ValueError: warp: output_shape must have at most max_pixels=100000000 pixels"),
    ("cvgeo.correct_matches(np.zeros((3, 3)), np.ones((5, 2)), np.ones((5, 2)))",
     "DegenerateError: correct_matches: F must not be zero"),
    ("cvgeo.hough_lines(np.ones((8, 8), bool), theta_step=1e-300)",
     "ValueError: hough_lines: theta_step and rho_step must give an accumulator"),
])
def test_unbounded_work_is_refused_before_it_starts(call, expected):
    assert _isolated(f"outcome(lambda: {call})", timeout=60).startswith(expected)


def test_max_pixels_can_be_raised():
    img = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match=r"^resize: output_shape must have at most "
                                         r"max_pixels=100 pixels, got 20x20 = 400"):
        cvgeo.resize(img, (20, 20), max_pixels=100)
    assert cvgeo.resize(img, (20, 20), max_pixels=400).shape == (20, 20)
    assert cvgeo.warp(img, np.eye(3), output_shape=(20, 20), max_pixels=400).shape == (20, 20)


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x7f")) + chunk(b"IEND", b""))


def test_read_image_refuses_a_small_image_padded_to_a_huge_file(tmp_path):
    """A 1x1 PNG followed by 20 MB of junk is refused from its size, before reading."""
    good = tmp_path / "one.png"
    good.write_bytes(_png_1x1())
    assert cvgeo.read_image(good).tolist() == [[127]]
    padded = tmp_path / "padded.png"
    padded.write_bytes(_png_1x1() + bytes(20 * 2**20))
    with pytest.raises(ValueError, match=r"^read_image: the file must hold at most "
                                         r"16777224 bytes for a 1x1 image"):
        cvgeo.read_image(padded)
    assert cvgeo.read_image(padded, max_bytes=21 * 2**20).tolist() == [[127]]


# ------------------------------------------------------ 4. wrong exception types
def test_huge_sigma_is_a_value_error_not_an_overflow_error():
    img = np.zeros((24, 24))
    for call in (lambda: cvgeo.gaussian_filter(img, 1e308),
                 lambda: cvgeo.canny(img, sigma=1e308),
                 lambda: cvgeo.gaussian_gradient(img, 1e308)):
        with pytest.raises(ValueError, match=r"kernel radius .* at most 4096 pixels"):
            call()


def test_ints_beyond_int64_are_value_errors():
    X = np.random.default_rng(0).random((20, 2))
    with pytest.raises(ValueError, match=r"^kmeans: max_iter must be an int that fits int64"):
        cvgeo.kmeans(X, 2, max_iter=2**70)
    with pytest.raises(ValueError, match=r"^downsample: factor must be an int that fits "
                                         r"int64 \(magnitude below 2\*\*63\), got an int of "
                                         r"71 bits"):
        cvgeo.downsample(np.zeros((8, 8)), 2**70)
    with pytest.raises(ValueError, match=r"^gaussian_filter: sigma must be a finite number"):
        cvgeo.gaussian_filter(np.zeros((8, 8)), 10**400)


def test_mean_shift_tiny_bandwidth_is_a_value_error():
    X = np.random.default_rng(0).random((20, 2))
    with pytest.raises(ValueError, match=r"^mean_shift: bandwidth must be at least 1e-09 \* "
                                         r"max\|X\|"):
        cvgeo.mean_shift(X, bandwidth=1e-300)


def test_mean_shift_is_scale_invariant():
    X = np.random.default_rng(0).random((60, 2))
    X[:30] += 3
    a = cvgeo.mean_shift(X, bandwidth=1.0)
    b = cvgeo.mean_shift(X * 1e150, bandwidth=1e150)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(b.centers, a.centers * 1e150, rtol=1e-12)


def test_singular_matrices_are_degenerate_errors(capfd):
    s = cvgeo.synthetic_two_view_scene(20, seed=1)
    z = np.zeros((3, 3))
    with pytest.raises(DegenerateError, match=r"^fundamental_from_essential: K1 must not be "
                                              r"zero"):
        cvgeo.fundamental_from_essential(np.eye(3), K1=z, K2=z)
    with pytest.raises(DegenerateError, match=r"^fundamental_from_essential: K2 must be "
                                              r"invertible"):
        cvgeo.fundamental_from_essential(s.E, K1=s.K1, K2=np.diag([1.0, 1.0, 0.0]))
    with pytest.raises(DegenerateError, match=r"^triangulate_points: P1 must not be zero"):
        cvgeo.triangulate_points(s.x1, s.x2, np.zeros((3, 4)), np.zeros((3, 4)))
    with pytest.raises(DegenerateError, match=r"^triangulate_points: P2 must have rank 3"):
        cvgeo.triangulate_points(s.x1, s.x2, np.eye(3, 4), np.ones((3, 4)))
    with pytest.raises(DegenerateError, match=r"^rectify_uncalibrated: F must not be zero"):
        cvgeo.rectify_uncalibrated(z, s.x1, s.x2, image_size=(480, 640))
    with pytest.raises(DegenerateError, match=r"^rectify_uncalibrated: F must have rank 2"):
        cvgeo.rectify_uncalibrated(np.outer([1.0, 2, 3], [3.0, 1, 2]), s.x1, s.x2,
                                   image_size=(480, 640))
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""  # LAPACK used to print about the NaN input


@pytest.mark.parametrize("dtype", [np.float32, ">f8", "<f4", np.int32])
def test_ransac_takes_any_real_dtype_and_byte_order(dtype):
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (40, 2)).round()
    dst = src + [5.0, -3.0]
    ref = cvgeo.ransac(cvgeo.HomographyEstimator(), src, dst, threshold_px=1.0)
    got = cvgeo.ransac(cvgeo.HomographyEstimator(), src.astype(dtype), dst.astype(dtype),
                       threshold_px=1.0)
    np.testing.assert_array_equal(got.inlier_mask, ref.inlier_mask)
    np.testing.assert_allclose(got.model, ref.model, atol=1e-9)
    with pytest.raises(TypeError, match=r"^ransac: data\[0\] must be real numbers"):
        cvgeo.ransac(cvgeo.HomographyEstimator(), src.astype(complex), dst, threshold_px=1.0)


def test_synthetic_scene_depth_range_must_be_a_pair():
    for bad in ([1], (1.0, 2.0, 3.0), 5.0):
        with pytest.raises(ValueError, match=r"^synthetic_two_view_scene: depth_range must be "
                                             r"a pair"):
            cvgeo.synthetic_two_view_scene(depth_range=bad)


def test_write_image_unknown_extension_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"^write_image: path must end in an extension "
                                         r"OpenCV can encode .* got '.xyz'"):
        cvgeo.write_image(tmp_path / "x.xyz", np.zeros((4, 4)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call, name", [
    (lambda v: cvgeo.canny(np.zeros((8, 8)), use_quantiles=v), "canny: use_quantiles"),
    (lambda v: cvgeo.find_homography(*_h_pair(), refine=v), "find_homography: refine"),
    (lambda v: cvgeo.find_fundamental(*_f_pair(), check_planar=v),
     "find_fundamental: check_planar"),
    (lambda v: cvgeo.hybrid_image(np.zeros((8, 8)), np.zeros((8, 8)), low_cutoff=0.1,
                                  high_cutoff=0.2, clip=v), "hybrid_image: clip"),
    (lambda v: cvgeo.mean_shift(np.zeros((4, 2)), bandwidth=1.0, bin_seeding=v),
     "mean_shift: bin_seeding"),
    (lambda v: cvgeo.frequency_grid((4, 4), centered=v), "frequency_grid: centered"),
    (lambda v: cvgeo.synthetic_two_view_scene(10, planar=v), "synthetic_two_view_scene: planar"),
])
def test_bool_flags_refuse_strings_nan_and_objects(call, name):
    for bad in ("no", float("nan"), object(), 0, None):
        with pytest.raises(TypeError, match=rf"^{name} must be a bool \(True or False\)"):
            call(bad)
    call(True)
    call(np.False_)


def _h_pair():
    src = np.random.default_rng(0).uniform(0, 100, (20, 2))
    return src, src + 1.0


def _f_pair():
    s = cvgeo.synthetic_two_view_scene(30, seed=0)
    return s.x1, s.x2


def test_errors_of_helpers_name_the_public_caller():
    with pytest.raises(DegenerateError, match=r"^find_fundamental: every one of the"):
        cvgeo.find_fundamental(np.zeros((10, 2)), np.zeros((10, 2)), max_trials=50)
    with pytest.raises(ValueError, match=r"^find_homography: confidence must be in"):
        cvgeo.find_homography(*_h_pair(), confidence=2.0)
    with pytest.raises(ValueError, match=r"^hough_circles: low_threshold must be >= 0"):
        cvgeo.hough_circles(np.zeros((16, 16)), radii=[3.0], low_threshold=-1.0)
    with pytest.raises(ValueError, match=r"^from_homogeneous: eps must be >= 0"):
        cvgeo.from_homogeneous(np.ones((3, 3)), eps=-1.0)


# --------------------------------------------------------------- 5. silent NaN/inf
@pytest.mark.parametrize("call", [
    lambda im: cvgeo.to_float(im),
    lambda im: cvgeo.gaussian_filter(im, 1.0),
    lambda im: cvgeo.warp(im, np.eye(3), output_shape=(8, 8)),
    lambda im: cvgeo.gaussian_pyramid(im, levels=2),
    lambda im: cvgeo.rgb_to_lab(np.dstack([im] * 3)),
])
def test_float64_beyond_float32_is_refused(call):
    im = np.full((16, 16), 1e39)
    with pytest.raises(ValueError, match=r"image must have values of magnitude at most "
                                         r"1e\+10 \(computation is in float32\)"):
        call(im)
    out = call(np.full((16, 16), 1e10))  # at the limit: finite results
    arrays = out if isinstance(out, list) else [out]
    assert all(np.isfinite(a).all() for a in arrays)


def test_zero_matrices_raise_instead_of_returning_inf_or_garbage():
    x = np.ones((4, 2))
    with pytest.raises(DegenerateError, match=r"^epipolar_distance: F must not be zero"):
        cvgeo.epipolar_distance(np.zeros((3, 3)), x, x)
    with pytest.raises(DegenerateError, match=r"^fundamental_from_essential: E must not be "
                                              r"zero"):
        cvgeo.fundamental_from_essential(np.zeros((3, 3)), K1=np.eye(3), K2=np.eye(3))
    with pytest.raises(DegenerateError, match=r"^essential_from_fundamental: F must not be "
                                              r"zero"):
        cvgeo.essential_from_fundamental(np.zeros((3, 3)), K1=np.eye(3), K2=np.eye(3))
    with pytest.raises(DegenerateError, match=r"^essential_from_fundamental: F must have "
                                              r"rank 2"):
        cvgeo.essential_from_fundamental(np.outer([1.0, 2, 3], [1.0, 0, 1]), K1=np.eye(3),
                                         K2=np.eye(3))


def test_normalize_and_warp_fill_cannot_overflow_float32():
    img = np.random.default_rng(0).random((8, 8))
    with pytest.raises(ValueError, match=r"^normalize: mean and std must give a result "
                                         r"float32 can hold"):
        cvgeo.normalize(img, 0.5, 1e-300)
    with pytest.raises(ValueError, match=r"^warp: cval must be in \[-10000000000.0, "
                                         r"10000000000.0\]"):
        cvgeo.warp(img, np.eye(3), output_shape=(8, 8), cval=1e308)
    out = cvgeo.normalize(img, 0.5, 1e-30)  # small but representable: exact
    x32 = img.astype(np.float32).astype(np.float64)  # computation starts from float32
    np.testing.assert_allclose(out, ((x32 - 0.5) / 1e-30).astype(np.float32), rtol=1e-6)


def test_estimate_bandwidth_of_huge_samples_is_finite_and_scales():
    X = np.random.default_rng(0).random((50, 2))
    bw = cvgeo.estimate_bandwidth(X)
    big = cvgeo.estimate_bandwidth(X * 1e160)
    assert math.isfinite(big)
    assert math.isclose(big, bw * 1e160, rel_tol=1e-12)
    with pytest.raises(ValueError, match=r"^estimate_bandwidth: X must have distances "
                                         r"float64 can hold"):
        # quantile 1: the other sample is the neighbour (two samples at the default 0.3
        # take only themselves, which gives 0, as scikit-learn)
        cvgeo.estimate_bandwidth(np.array([[-1.7e308, 0.0], [1.7e308, 0.0]]), quantile=1.0)


# --------------------------------------------- the Gaussian blur on tiny images
def test_gaussian_blur_fft_on_a_1x2_mirror_image_matches_scipy():
    """The hypothesis case that flaked: the FFT path used to drop the only non-zero
    frequency of a 1x2 image (equal outputs); scipy and the spatial path agree."""
    x = np.random.default_rng(0).random((1, 2)).astype(np.float32)
    ref = ndi.gaussian_filter(x.astype(np.float64), 3.0, truncate=3.5, mode="mirror")
    for method in ("fft", "spatial"):
        out = cvgeo.gaussian_blur(x, 3.0, method=method, border="mirror", truncate=3.5)
        np.testing.assert_allclose(out, ref, atol=2e-7)
    assert ref[0, 0] != ref[0, 1]


def test_gaussian_blur_fft_pruning_error_is_bounded_by_the_ripple_threshold():
    """Worst case of the pruned DCT path: an image that is a single cosine at the dropped
    frequency of largest kernel gain. The error is that gain times the amplitude, and the
    gain is below TRUNCATED_RIPPLE_MAX = 5e-5."""
    from cvgeo.fourier import convolve

    n, sigma = 256, 8.0
    gain = convolve._kernel_gain(sigma, 4.0, 2.0 * n, n)
    keep = convolve._n_keep(gain, sigma, 2.0 * n)
    assert keep < n  # the pruning is in effect here
    k = keep + int(np.argmax(np.abs(gain[keep:])))
    j = np.arange(n)
    row = 0.5 + 0.5 * np.cos(np.pi * k * (j + 0.5) / n)  # DCT-II basis: reflect border
    x = np.tile(row, (n, 1)).astype(np.float32)
    fft = cvgeo.gaussian_blur(x, sigma, method="fft")
    ref = ndi.gaussian_filter(x.astype(np.float64), sigma, mode="reflect")
    err = np.abs(fft - ref).max()
    assert abs(gain[k]) <= convolve.TRUNCATED_RIPPLE_MAX
    assert err <= 0.5 * convolve.TRUNCATED_RIPPLE_MAX + 1e-6
    assert err >= 0.5 * abs(gain[k]) * 0.9  # the bound is met, not merely loose
