"""Tests for cvgeo.hough: line transform, line peaks, probabilistic segments, circles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
from cvgeo.hough import (
    HoughCircles,
    HoughLinePeaks,
    HoughLines,
    hough_circles,
    hough_line_peaks,
    hough_lines,
    hough_segments,
)
from cvgeo.hough import _circle_support as hsup
from cvgeo.hough import _common as hgrid
from cvgeo.hough import circles as hcirc
from cvgeo.hough import segments as hsegs

DEG = math.pi / 180


# --------------------------------------------------------------------------- synthetic scenes
def render_line(shape, rho, theta, *, rng=None, gap_fraction=0.0):
    """Pixels of the line x cos(theta) + y sin(theta) = rho, sampled every 0.25 px.

    With ``gap_fraction`` > 0, that fraction of the line is removed as 5-pixel-long gaps.
    """
    h, w = shape
    a, b = math.cos(theta), math.sin(theta)
    x0, y0 = a * rho, b * rho  # foot of the perpendicular from the origin
    t = np.arange(-2 * (h + w), 2 * (h + w), 0.25)
    xs, ys = np.rint(x0 - t * b).astype(int), np.rint(y0 + t * a).astype(int)
    keep = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    if gap_fraction > 0:
        # remove runs of 20 samples (5 px) at random places along the line
        n_gaps = int(gap_fraction * keep.sum() / 20)
        for start in rng.choice(t.size - 20, size=n_gaps, replace=False):
            keep[start:start + 20] = False
    img = np.zeros(shape, dtype=bool)
    img[ys[keep], xs[keep]] = True
    return img


def render_segment(img, x0, y0, x1, y1, gaps=()):
    """Draw the segment (x0, y0)-(x1, y1) into ``img`` except the parameter ranges ``gaps``."""
    n = int(4 * math.hypot(x1 - x0, y1 - y0)) + 1
    t = np.linspace(0, 1, n)
    keep = np.ones(n, dtype=bool)
    for g0, g1 in gaps:
        keep &= ~((t > g0) & (t < g1))
    img[np.rint(y0 + t * (y1 - y0)).astype(int)[keep],
        np.rint(x0 + t * (x1 - x0)).astype(int)[keep]] = True
    return img


def angle_diff(t1, t2):
    """Distance between two line directions, radians modulo pi."""
    d = abs(t1 - t2) % math.pi
    return min(d, math.pi - d)


def line_distance(rho1, theta1, rho2, theta2):
    """(|d rho|, |d theta|) between two (rho, theta) lines, across the 0/pi seam too."""
    direct = (abs(rho1 - rho2), abs(theta1 - theta2))
    wrapped = (abs(rho1 + rho2), math.pi - abs(theta1 - theta2))
    return min(direct, wrapped, key=lambda p: p[1])


# --------------------------------------------------------------------------- hough_lines
def test_single_vertical_line_known_answer():
    edges = np.zeros((50, 60), dtype=bool)
    edges[:, 20] = True
    res = hough_lines(edges)
    assert isinstance(res, HoughLines)
    assert res.accumulator.shape == (res.rhos.size, res.thetas.size) == (2 * 77 + 1, 180)
    assert res.rhos[77] == 0.0 and res.rho_step == 1.0
    i, j = np.unravel_index(np.argmax(res.accumulator), res.accumulator.shape)
    assert (res.rhos[i], res.thetas[j], res.accumulator[i, j]) == (20.0, 0.0, 50)


def test_every_pixel_votes_once_per_angle(rng):
    edges = rng.random((64, 90)) > 0.9
    for theta_step, rho_step in [(DEG, 1.0), (0.5 * DEG, 0.5), (3 * DEG, 2.5)]:
        res = hough_lines(edges, theta_step=theta_step, rho_step=rho_step)
        np.testing.assert_array_equal(res.accumulator.sum(axis=0), edges.sum())
        assert res.thetas[0] == 0.0 and res.thetas[-1] < math.pi
        np.testing.assert_allclose(np.diff(res.thetas), res.theta_step)
        np.testing.assert_allclose(res.rhos, -res.rhos[::-1])
        assert abs(res.theta_step - theta_step) < 1e-12


def test_theta_step_is_rounded_to_divide_pi():
    res = hough_lines(np.ones((5, 5), dtype=bool), theta_step=0.3)
    assert res.thetas.size == round(math.pi / 0.3) == 10
    assert res.theta_step == pytest.approx(math.pi / 10)


def test_matches_numpy_reference_with_fractional_rho_step(rng):
    """A vectorised reference: rho / step rounded half away from zero, np.add.at."""
    edges = rng.random((40, 70)) > 0.85
    res = hough_lines(edges, theta_step=2 * DEG, rho_step=0.7)
    ys, xs = np.nonzero(edges)
    v = (np.cos(res.thetas)[None, :] * xs[:, None] + np.sin(res.thetas)[None, :] * ys[:, None])
    v = v / 0.7
    idx = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(int) + res.rhos.size // 2
    ref = np.zeros(res.accumulator.shape, dtype=np.int64)
    np.add.at(ref, (idx, np.broadcast_to(np.arange(res.thetas.size), idx.shape)), 1)
    np.testing.assert_array_equal(res.accumulator, ref)


def test_accumulator_equals_skimage_exactly(coins):
    """skimage.transform.hough_line on the same theta grid gives the same accumulator.

    Mapping (stated once): our thetas are theta_j = j pi / n in [0, pi); skimage's range
    is [-pi/2, pi/2), so its grid is theta'_j = theta_j for theta_j < pi/2 and
    theta_j - pi otherwise (sorted). Our column j equals skimage's column for theta'_j,
    with the rho axis reversed when theta'_j = theta_j - pi (rho' = -rho there). skimage's
    rho rows run -ceil(hypot(H, W)) .. +ceil(hypot(H, W)); ours -ceil(hypot(H-1, W-1)) ..,
    so ours are skimage's rows offset by the difference of the two half-widths.
    """
    from skimage.feature import canny
    from skimage.transform import hough_line

    edges = canny(coins, sigma=2.0)
    assert edges.sum() > 5000
    res = hough_lines(edges, theta_step=DEG, rho_step=1.0)
    sk_theta = np.where(res.thetas < math.pi / 2, res.thetas, res.thetas - math.pi)
    order = np.argsort(sk_theta)
    h_sk, theta_sk, d_sk = hough_line(edges, theta=sk_theta[order])
    np.testing.assert_array_equal(theta_sk[0], -math.pi / 2)
    off_sk, off = (d_sk.size - 1) // 2, (res.rhos.size - 1) // 2
    assert h_sk[: off_sk - off].sum() == h_sk[off_sk + off + 1:].sum() == 0
    h_sk = h_sk[off_sk - off: off_sk + off + 1].astype(np.int64)
    mapped = np.empty_like(h_sk)
    for k, j in enumerate(order):
        mapped[:, j] = h_sk[:, k] if res.thetas[j] < math.pi / 2 else h_sk[::-1, k]
    np.testing.assert_array_equal(res.accumulator, mapped)
    # and directly on our own grid (skimage accepts any theta): no mapping but the rows
    h_same, _, _ = hough_line(edges, theta=res.thetas)
    np.testing.assert_array_equal(res.accumulator, h_same[off_sk - off: off_sk + off + 1])


# --------------------------------------------------------------------------- hough_line_peaks
KNOWN_LINES = [(40.0, 10 * DEG), (-60.0, 120 * DEG), (150.0, 90 * DEG),
               (100.0, 45 * DEG), (30.0, 165.3 * DEG), (200.0, 33.3 * DEG)]


def test_known_lines_with_noise_and_gaps_recovered_within_one_step(rng):
    shape = (240, 320)
    edges = np.zeros(shape, dtype=bool)
    for rho, theta in KNOWN_LINES:
        edges |= render_line(shape, rho, theta, rng=rng, gap_fraction=0.25)
    edges |= rng.random(shape) > 0.98  # 2% salt noise
    res = hough_lines(edges, theta_step=DEG, rho_step=1.0)
    peaks = hough_line_peaks(res, num_peaks=len(KNOWN_LINES), min_votes=60,
                             min_distance_px=10, min_angle_rad=5 * DEG)
    assert peaks.rhos.size == len(KNOWN_LINES)
    assert np.all(np.diff(peaks.votes) <= 0)
    for rho, theta in KNOWN_LINES:
        d_rho, d_theta = min((line_distance(rho, theta, r, t) for r, t in
                              zip(peaks.rhos, peaks.thetas)), key=lambda p: p[1] + p[0] / 1e3)
        assert d_rho <= res.rho_step and d_theta <= res.theta_step, (rho, theta, d_rho, d_theta)


@pytest.mark.parametrize("theta", [0.0, 0.2 * DEG, 0.6 * DEG, 179.5 * DEG, 179.8 * DEG])
def test_line_at_the_theta_seam_found_once(theta, rng):
    shape = (200, 200)
    edges = render_line(shape, 80.0 if theta < 1 else -80.0, theta, rng=rng, gap_fraction=0.1)
    res = hough_lines(edges)
    peaks = hough_line_peaks(res, min_votes=40)  # default suppression: 9 px, 10 degrees
    assert peaks.rhos.size == 1, (peaks.rhos, np.degrees(peaks.thetas))
    rho = 80.0 if theta < 1 else -80.0
    d_rho, d_theta = line_distance(rho, theta, peaks.rhos[0], peaks.thetas[0])
    assert d_rho <= 1.0 and d_theta <= DEG


def test_seam_handling_in_candidates_and_nms():
    """The same line across the seam: (rho, theta) and (-rho, theta - pi)."""
    def fresh():
        thetas = np.arange(18) * (math.pi / 18)  # 10 degree steps
        return HoughLines(accumulator=np.zeros((21, 18), dtype=np.int32), thetas=thetas,
                          rhos=np.arange(-10.0, 11.0), theta_step=math.pi / 18, rho_step=1.0,
                          shape=(8, 8))
    # candidates: (rho=-4, 170 deg) touches (rho=5, 0 deg) across the seam -> not a maximum
    res = fresh()
    res.accumulator[10 + 5, 0] = 9     # rho = 5, theta = 0
    res.accumulator[10 - 4, 17] = 8    # rho = -4, theta = 170: the cell next to it
    res.accumulator[10 + 4, 17] = 7    # rho = +4, theta = 170: a different line
    p = hough_line_peaks(res, min_votes=1, min_distance_px=0, min_angle_rad=0)
    assert p.votes.tolist() == [9, 7] and p.rhos.tolist() == [5.0, 4.0]
    # NMS: (rho=-4, 160 deg) is 1 px and 20 degrees from (5, 0) across the seam
    res = fresh()
    res.accumulator[10 + 5, 0] = 9
    res.accumulator[10 - 4, 16] = 8
    p = hough_line_peaks(res, min_votes=1, min_distance_px=1.0, min_angle_rad=20 * DEG)
    assert p.votes.tolist() == [9]
    p = hough_line_peaks(res, min_votes=1, min_distance_px=1.0, min_angle_rad=15 * DEG)
    assert p.votes.tolist() == [9, 8]
    p = hough_line_peaks(res, min_votes=1, min_distance_px=0.5, min_angle_rad=20 * DEG)
    assert p.votes.tolist() == [9, 8]
    # without the seam (rho=+4, 160 deg is 9 px away across it) nothing is suppressed
    res.accumulator[10 - 4, 16] = 0
    res.accumulator[10 + 4, 16] = 8
    p = hough_line_peaks(res, min_votes=1, min_distance_px=1.0, min_angle_rad=20 * DEG)
    assert p.votes.tolist() == [9, 8]


def test_peaks_lines_are_normalised_and_consistent(rng):
    shape = (120, 160)
    edges = render_line(shape, 50.0, 30 * DEG) | render_line(shape, -20.0, 110 * DEG)
    p = hough_line_peaks(hough_lines(edges))
    assert isinstance(p, HoughLinePeaks) and p.lines.shape == (2, 3)
    np.testing.assert_allclose(p.lines[:, 0] ** 2 + p.lines[:, 1] ** 2, 1.0)
    np.testing.assert_allclose(p.lines[:, 2], -p.rhos)
    assert np.all((p.thetas >= 0) & (p.thetas < math.pi))
    # every edge pixel of the strongest line lies within a pixel of its (a, b, c) line
    ys, xs = np.nonzero(render_line(shape, 50.0, 30 * DEG))
    a, b, c = p.lines[0]
    assert np.abs(a * xs + b * ys + c).max() < 1.5


def test_num_peaks_and_threshold(rng):
    shape = (240, 320)
    edges = np.zeros(shape, dtype=bool)
    for rho, theta in KNOWN_LINES:
        edges |= render_line(shape, rho, theta)
    res = hough_lines(edges)
    allp = hough_line_peaks(res, min_votes=50)
    assert allp.rhos.size == len(KNOWN_LINES)
    two = hough_line_peaks(res, num_peaks=2, min_votes=50)
    np.testing.assert_array_equal(two.votes, allp.votes[:2])
    high = hough_line_peaks(res, min_votes=int(allp.votes[2]) + 1)
    assert high.rhos.size == 2
    # default threshold: half the maximum
    default = hough_line_peaks(res)
    assert default.votes.min() >= allp.votes.max() // 2


def test_empty_edge_map_gives_empty_arrays():
    res = hough_lines(np.zeros((30, 40), dtype=bool))
    assert res.accumulator.sum() == 0
    p = hough_line_peaks(res)
    assert p.rhos.shape == p.thetas.shape == p.votes.shape == (0,)
    assert p.lines.shape == (0, 3)
    p = hough_line_peaks(res, min_votes=0)
    assert p.rhos.size == 0


@settings(max_examples=30, deadline=None)
@given(rho=st.floats(-90, 90), theta_deg=st.floats(0, 179.999))
def test_property_any_single_line_is_recovered(rho, theta_deg):
    shape = (128, 128)
    theta = theta_deg * DEG
    edges = render_line(shape, rho, theta)
    if edges.sum() < 40:  # the line barely crosses the image
        return
    res = hough_lines(edges)
    p = hough_line_peaks(res, num_peaks=1)
    _, d_theta = line_distance(rho, theta, p.rhos[0], p.thetas[0])
    # a short digital line cannot fix its angle to a grid step (its votes tie across
    # neighbouring columns): allow one step plus the angle that moves one end of the line
    # two pixels against the other, over the line's extent L (30,000 random lines: the
    # worst reached 0.79 of this bound, 3.6 degrees on a 4-connected line 32 px long)
    ys, xs = np.nonzero(edges)
    extent = np.hypot(np.ptp(xs), np.ptp(ys))
    assert d_theta <= DEG + np.arctan(2.0 / extent) + 1e-12
    # rho depends on theta through the line's position along itself, so compare in the
    # image: the found line passes within a pixel of the edge pixels on average
    a, b, c = p.lines[0]
    assert np.abs(a * xs + b * ys + c).mean() <= 1.0


# --------------------------------------------------------------------------- hough_segments
SEGMENTS = np.array([[20, 30, 180, 30], [40, 60, 40, 190], [70, 80, 190, 170],
                     [100, 190, 190, 120]], dtype=float)


def _segment_scene():
    img = np.zeros((210, 220), dtype=bool)
    for k, s in enumerate(SEGMENTS):
        render_segment(img, *s, gaps=[(0.3, 0.31), (0.6, 0.62)] if k % 2 else [(0.5, 0.52)])
    return img


def _match(found, truth, tol):
    """For each true segment, the found segment whose ends are nearest (either order)."""
    errs = []
    for s in truth:
        d1 = np.maximum(np.hypot(*(found[:, :2] - s[:2]).T), np.hypot(*(found[:, 2:] - s[2:]).T))
        d2 = np.maximum(np.hypot(*(found[:, :2] - s[2:]).T), np.hypot(*(found[:, 2:] - s[:2]).T))
        errs.append(np.minimum(d1, d2).min())
    return np.array(errs)


def test_segments_recovered_with_gaps(rng):
    img = _segment_scene()
    segs = hough_segments(img, min_votes=20, min_length_px=40, max_gap_px=6, seed=1)
    assert segs.shape == (4, 4) and segs.dtype == np.float64
    assert _match(segs, SEGMENTS, 2.0).max() <= 2.0
    noisy = img | (rng.random(img.shape) > 0.995)
    segs = hough_segments(noisy, min_votes=20, min_length_px=40, max_gap_px=6, seed=1)
    assert _match(segs, SEGMENTS, 2.0).max() <= 2.0
    assert segs.shape[0] <= 6  # no burst of spurious segments from 0.5 % noise


def test_segments_deterministic_per_seed():
    img = _segment_scene()
    a = hough_segments(img, min_votes=15, min_length_px=30, seed=3)
    b = hough_segments(img, min_votes=15, min_length_px=30, seed=3)
    np.testing.assert_array_equal(a, b)
    c = hough_segments(img, min_votes=15, min_length_px=30, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a, c)
    for seed in (0, 7, 11):  # another order: the same segments, to within 2 px
        other = hough_segments(img, min_votes=15, min_length_px=30, seed=seed)
        assert other.shape == a.shape
        assert _match(other, a, 2.0).max() <= 2.0


def test_segment_accumulator_width_does_not_change_segments(camera):
    """hough_segments votes into int16 when no bin can pass 32767 votes: on a real edge map
    the int16 and int32 accumulators give the same segments; and the vectorised bins of a
    pixel are the per-angle rounding of x cos + y sin."""
    import cv2

    edges = cv2.Canny(camera, 100, 200) > 0
    thetas, rhos, n_off = hgrid._theta_rho_grid(edges.shape, DEG, 1.0, "test")
    flat = np.flatnonzero(edges)
    order = flat[np.random.default_rng(0).permutation(flat.size)].astype(np.int64)
    cos_t, sin_t = np.cos(thetas), np.sin(thetas)
    segs = {}
    for dtype in (np.int16, np.int32):
        acc = np.zeros(thetas.size * rhos.size, dtype=dtype)
        segs[dtype] = hsegs._pph_kernel(edges.astype(np.uint8), order, cos_t, sin_t, 1.0, n_off,
                                        rhos.size, 30, 30.0, 3, acc)
    assert len(segs[np.int16]) > 20
    np.testing.assert_array_equal(segs[np.int16], segs[np.int32])
    bins = np.empty(thetas.size, dtype=np.int64)
    for x, y in ((0, 0), (511, 0), (37, 400), (511, 511)):
        hsegs._pixel_bins(bins, x, y, cos_t, sin_t, 1.0, n_off, rhos.size)
        v = cos_t * x + sin_t * y
        expected = np.arange(thetas.size) * rhos.size + np.trunc(v + np.copysign(0.5, v)) + n_off
        np.testing.assert_array_equal(bins, expected.astype(np.int64))


def test_segments_on_camera_lie_on_edges_and_cover_more_than_cv2(camera):
    """Canny edges of camera, the same parameters as cv2.HoughLinesP: for three seeds every
    segment lies on the edges (>= 80 % of its pixels within 1 px of an edge pixel; the
    worst measured 0.84, cv2's 0.97; the median 1.0 for both) and together they are at
    least as long as cv2's (about 6200 px against cv2's 3271: cv2 walks the accumulator's
    angle without refitting and stops sooner)."""
    import cv2
    import skimage.draw
    from scipy import ndimage as ndi

    edges8 = cv2.Canny(camera, 100, 200)
    edges = edges8 > 0
    near = ndi.binary_dilation(edges, np.ones((3, 3), bool))
    ref = cv2.HoughLinesP(edges8, 1, DEG, 30, minLineLength=30, maxLineGap=3).reshape(-1, 4)

    def length(s):
        return float(np.hypot(s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]).sum())

    for seed in range(3):
        segs = hough_segments(edges, min_votes=30, min_length_px=30, max_gap_px=3, seed=seed)
        assert len(segs) > 50
        support = []
        for x0, y0, x1, y1 in segs.astype(int):
            rr, cc = skimage.draw.line(y0, x0, y1, x1)
            support.append(near[rr, cc].mean())
        assert min(support) >= 0.8 and np.median(support) == 1.0
        assert length(segs) >= length(ref)


def test_segment_ends_stay_inside_the_image(camera):
    """Near the border the fitted line can round to one pixel outside the image; the ends
    are clamped (seeds 1 and 9 gave an end at y = 512 on camera)."""
    import cv2

    edges = cv2.Canny(camera, 100, 200) > 0
    h, w = edges.shape
    for seed in range(12):
        segs = hough_segments(edges, min_votes=30, min_length_px=30, max_gap_px=3, seed=seed)
        assert segs.min() >= 0
        assert segs[:, [0, 2]].max() <= w - 1 and segs[:, [1, 3]].max() <= h - 1


def test_lines_parallel_voting_equals_serial(camera):
    """cvgeo.set_num_threads(2): the angles are voted in bands on two threads, with the
    same accumulator."""
    import cv2

    import cvgeo

    edges = cv2.Canny(camera, 100, 200) > 0
    serial = hough_lines(edges, theta_step=0.5 * DEG).accumulator
    previous = cvgeo.set_num_threads(2)
    try:
        parallel = hough_lines(edges, theta_step=0.5 * DEG).accumulator
    finally:
        cvgeo.set_num_threads(previous)
    assert serial.sum() == edges.sum() * 360
    np.testing.assert_array_equal(parallel, serial)


def test_gap_larger_than_max_gap_splits_segment():
    img = render_segment(np.zeros((60, 200), dtype=bool), 10, 30, 190, 30, gaps=[(0.45, 0.55)])
    one = hough_segments(img, min_votes=10, min_length_px=20, max_gap_px=25)
    two = hough_segments(img, min_votes=10, min_length_px=20, max_gap_px=10)
    assert one.tolist() == [[10.0, 30.0, 190.0, 30.0]]
    assert sorted(two.tolist()) == [[10.0, 30.0, 91.0, 30.0], [109.0, 30.0, 190.0, 30.0]]


def test_segments_min_length_and_empty():
    img = render_segment(np.zeros((60, 200), dtype=bool), 10, 30, 60, 30)
    assert hough_segments(img, min_votes=5, min_length_px=60).shape == (0, 4)
    assert hough_segments(img, min_votes=5, min_length_px=40).shape == (1, 4)
    assert hough_segments(np.zeros((10, 10), dtype=bool)).shape == (0, 4)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("func", [hough_lines, hough_segments])
def test_bad_edges(func):
    name = func.__name__
    with pytest.raises(ValueError, match=rf"^{name}: edges must be a binary edge map .*0, 255"):
        func(np.array([[0, 255], [255, 0]], dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"^{name}: edges must be a binary"):
        func(np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match=rf"^{name}: edges must be non-empty"):
        func(np.zeros((0, 5), dtype=bool))
    with pytest.raises(ValueError, match=rf"^{name}: edges must be \(H, W\), got shape"):
        func(np.zeros((4, 4, 3), dtype=bool))
    with pytest.raises(ValueError, match=rf"^{name}: edges must be finite"):
        func(np.array([[0.0, np.nan]]))
    with pytest.raises(TypeError, match=rf"^{name}: edges must be a numpy array"):
        func([[0, 1]])


@pytest.mark.parametrize("func", [hough_lines, hough_segments])
@pytest.mark.parametrize("kw, exc, msg", [
    (dict(theta_step=0.0), ValueError, r"theta_step must be in \(0.0, 1.57"),
    (dict(theta_step=-0.1), ValueError, "theta_step must be in"),
    (dict(theta_step=2.0), ValueError, "theta_step must be in"),
    (dict(theta_step=float("nan")), ValueError, "theta_step must be a finite number"),
    (dict(rho_step=0), ValueError, r"rho_step must be in \(0.0, "),
    (dict(rho_step=-1.0), ValueError, "rho_step must be in"),
    (dict(rho_step=1e6), ValueError, "rho_step must be in"),
    (dict(rho_step=float("inf")), ValueError, "rho_step must be a finite number"),
    (dict(rho_step="1"), TypeError, "rho_step must be a real number"),
])
def test_nonsense_steps(func, kw, exc, msg):
    with pytest.raises(exc, match=rf"^{func.__name__}: {msg}"):
        func(np.ones((20, 20), dtype=bool), **kw)


def test_bad_peak_parameters():
    res = hough_lines(np.eye(20, dtype=bool))
    with pytest.raises(TypeError, match="^hough_line_peaks: result must be a HoughLines"):
        hough_line_peaks(np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"^hough_line_peaks: num_peaks must be an int >= 1"):
        hough_line_peaks(res, num_peaks=0)
    with pytest.raises(ValueError, match=r"^hough_line_peaks: min_votes must be an int >= 0"):
        hough_line_peaks(res, min_votes=-3)
    with pytest.raises(TypeError, match=r"^hough_line_peaks: min_votes must be an int"):
        hough_line_peaks(res, min_votes=2.5)
    with pytest.raises(ValueError, match=r"^hough_line_peaks: min_distance_px must be >= 0"):
        hough_line_peaks(res, min_distance_px=-1)
    with pytest.raises(ValueError, match=r"^hough_line_peaks: min_angle_rad must be in"):
        hough_line_peaks(res, min_angle_rad=4.0)


def test_bad_segment_parameters():
    img = np.eye(20, dtype=bool)
    with pytest.raises(ValueError, match=r"^hough_segments: min_votes must be an int >= 1"):
        hough_segments(img, min_votes=0)
    with pytest.raises(ValueError, match=r"^hough_segments: min_length_px must be >= 0"):
        hough_segments(img, min_length_px=-5)
    with pytest.raises(ValueError, match=r"^hough_segments: max_gap_px must be an int >= 0"):
        hough_segments(img, max_gap_px=-1)
    with pytest.raises(TypeError, match=r"^hough_segments: seed must be an int"):
        hough_segments(img, seed="x")


# --------------------------------------------------------------------------- hough_circles
def disc_image(shape, circles, *, rng=None, noise=0.0, dark=False):
    """Discs (x, y, r) of intensity 0.8 on 0.2 (or the reverse), plus Gaussian noise."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.full(shape, 0.2, dtype=np.float32)
    for x, y, r in circles:
        img[(xx - x) ** 2 + (yy - y) ** 2 <= r**2] = 0.8
    if dark:
        img = 1.0 - img
    if noise:
        img = img + rng.normal(0, noise, shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def match_circles(found, truth):
    """For each true circle, the found one nearest in (x, y, r): (centre distance,
    |radius difference|, its index)."""
    d = np.hypot(found[:, None, 0] - truth[None, :, 0], found[:, None, 1] - truth[None, :, 1])
    dr = np.abs(found[:, None, 2] - truth[None, :, 2])
    best = np.hypot(d, dr).argmin(axis=0)
    cols = np.arange(len(truth))
    return d[best, cols], dr[best, cols], best


SYNTH_CIRCLES = np.array([[60.3, 50.7, 22.4], [150.0, 60.0, 30.0], [95.5, 130.2, 17.0],
                          [180.8, 150.1, 25.6]])


@pytest.mark.parametrize("dark", [False, True], ids=["bright discs", "dark discs"])
def test_synthetic_discs_with_noise(rng, dark):
    img = disc_image((200, 230), SYNTH_CIRCLES, rng=rng, noise=0.08, dark=dark)
    res = hough_circles(img, radii=np.arange(12, 36), sigma=2.0)
    assert isinstance(res, HoughCircles)
    assert res.circles.shape == (4, 3) and res.scores.shape == (4,)
    assert np.all(np.diff(res.scores) <= 0) and res.scores.min() > 0.8
    d, dr, _ = match_circles(res.circles, SYNTH_CIRCLES)
    assert d.max() <= 0.75 and dr.max() <= 0.75, (d, dr)
    assert res.edges.dtype == np.bool_ and res.edges.shape == img.shape
    np.testing.assert_array_equal(res.radius_grid, np.arange(12, 36))


def test_without_subpixel_centres_are_pixels_and_radii_on_the_grid(rng):
    img = disc_image((200, 230), SYNTH_CIRCLES, rng=rng, noise=0.05)
    res = hough_circles(img, radii=np.arange(12, 36), subpixel=False)
    np.testing.assert_array_equal(res.circles[:, :2], np.round(res.circles[:, :2]))
    assert np.isin(res.circles[:, 2], np.arange(12, 36)).all()
    d, dr, _ = match_circles(res.circles, SYNTH_CIRCLES)
    assert d.max() <= 1.5 and dr.max() <= 1.0


def test_concentric_circles_both_found():
    """A ring (two concentric edges, r = 18 and 32) and a lone disc r = 25."""
    yy, xx = np.mgrid[:160, :220]
    rr = np.hypot(xx - 70, yy - 80)
    img = np.where((rr >= 18) & (rr <= 32), 0.9, 0.1).astype(np.float32)
    img[np.hypot(xx - 170, yy - 80) <= 25] = 0.9
    res = hough_circles(img, radii=np.arange(12, 40), sigma=1.5)
    truth = np.array([[70, 80, 18.0], [70, 80, 32.0], [170, 80, 25.0]])
    assert res.circles.shape[0] == 3
    d, dr, best = match_circles(res.circles, truth)
    assert len(set(best.tolist())) == 3
    assert d.max() <= 0.75 and dr.max() <= 0.75, (d, dr)
    # one radius per centre (min_radius_diff_px above their difference) loses the inner one
    one = hough_circles(img, radii=np.arange(12, 40), sigma=1.5, min_radius_diff_px=20)
    assert one.circles.shape[0] == 2


def test_min_distance_and_num_peaks():
    """Two overlapping discs 12 px apart: merged by the default min distance (r_min)."""
    img = disc_image((120, 160), [(60, 60, 25), (72, 60, 25)])
    close = hough_circles(img, radii=np.arange(15, 31), min_distance_px=5)
    assert close.circles.shape[0] == 2
    d, dr, _ = match_circles(close.circles, np.array([(60, 60, 25.0), (72, 60, 25.0)]))
    assert d.max() <= 1.0 and dr.max() <= 1.0
    merged = hough_circles(img, radii=np.arange(15, 31))
    assert merged.circles.shape[0] == 1
    img = disc_image((200, 230), SYNTH_CIRCLES)
    allc = hough_circles(img, radii=np.arange(12, 36))
    two = hough_circles(img, radii=np.arange(12, 36), num_peaks=2)
    np.testing.assert_allclose(two.circles, allc.circles[:2])


def test_bool_edge_map_input():
    """A bool map is an edge map: normals come from its structure tensor."""
    from cvgeo.edges import canny

    img = disc_image((200, 230), SYNTH_CIRCLES)
    edges = canny(img, sigma=2.0)
    res = hough_circles(edges, radii=np.arange(12, 36), sigma=1.0)
    d, dr, _ = match_circles(res.circles, SYNTH_CIRCLES)
    assert res.circles.shape[0] == 4 and d.max() <= 0.75 and dr.max() <= 0.75
    np.testing.assert_array_equal(res.edges, edges)
    # the same edges given beside the grey image
    beside = hough_circles(img, radii=np.arange(12, 36), edges=edges)
    d, dr, _ = match_circles(beside.circles, SYNTH_CIRCLES)
    assert beside.circles.shape[0] == 4 and d.max() <= 0.75 and dr.max() <= 0.75


def test_blank_image_gives_empty_arrays():
    res = hough_circles(np.full((50, 60), 0.5, np.float32), radii=[10, 12])
    assert res.circles.shape == (0, 3) and res.scores.shape == (0,)
    assert not res.edges.any()


# Careful reference for skimage.data.coins: skimage's own pipeline with half-pixel radii,
# each circle then refitted by least squares (Kasa, 5 rounds, bands 3, 2, 2, 1.5, 1.5 px)
# to skimage's Canny pixels near it -- generated by:
#   edges = skimage.feature.canny(coins, sigma=3, low_threshold=10, high_threshold=50)
#   radii = np.arange(14, 40.5, 0.5); h = skimage.transform.hough_circle(edges, radii)
#   _, cx, cy, r = skimage.transform.hough_circle_peaks(h, radii, min_xdistance=15,
#                                                       min_ydistance=15, total_num_peaks=24)
#   ys, xs = np.nonzero(edges); for each (x, y, r): for band in (3, 2, 2, 1.5, 1.5):
#       m = |hypot(xs - x, ys - y) - r| < band; solve [xs ys 1] [D E F] = xs² + ys²
#       by lstsq on m; x, y, r = D/2, E/2, sqrt(F + x² + y²)
# (the refit moved skimage's integer answers by up to 2.8 px; checked by eye on an
# enlarged overlay). (x, y, r), by row of coins:
COINS_REFERENCE = np.array([
    (45.9, 54.3, 19.8), (100.6, 56.5, 18.6), (155.2, 50.9, 22.9), (215.3, 51.5, 22.6),
    (276.9, 52.4, 19.7), (335.0, 43.5, 28.8), (44.6, 124.5, 20.4), (102.3, 125.4, 18.5),
    (153.7, 127.5, 18.6), (205.2, 124.0, 19.6), (270.8, 118.9, 24.7), (336.2, 124.4, 19.4),
    (43.6, 197.1, 18.5), (101.7, 195.3, 21.8), (154.0, 197.7, 19.1), (212.5, 193.1, 23.5),
    (272.7, 192.7, 21.3), (347.3, 186.2, 31.4), (46.0, 259.8, 27.9), (113.7, 265.8, 21.2),
    (173.2, 260.9, 26.8), (243.9, 263.5, 23.4), (300.5, 263.3, 24.8), (358.4, 268.3, 21.4),
])


@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_coins_all_24_found(coins, sigma):
    res = hough_circles(coins, radii=np.arange(14, 41), sigma=sigma)
    d, dr, best = match_circles(res.circles, COINS_REFERENCE)
    assert d.max() <= 3.0 and dr.max() <= 2.0, (d.round(2), dr.round(2))
    assert len(set(best.tolist())) == 24          # 24 different circles
    assert best.max() < 24                        # ... and they are the 24 strongest
    assert res.circles.shape[0] <= 25             # at most one extra (an inner rim)
    assert np.median(d) <= 1.0 and np.median(dr) <= 0.5


def test_circle_kernels_bounded_support_and_sparse_votes(coins):
    """The refinement's support count may stop early, but only where the caller cannot
    use the exact value: it returns the exact support when that beats ``beat`` and a
    value <= ``beat`` otherwise. The vote slices undo their votes exactly."""
    res = hough_circles(coins, radii=np.arange(14, 41), sigma=3.0)
    edges = res.edges
    ys, xs = np.nonzero(edges)
    rng = np.random.default_rng(0)
    ang = rng.uniform(0, 2 * np.pi, xs.size)
    ux = np.zeros(edges.shape, np.float32)
    uy = np.zeros(edges.shape, np.float32)
    ux[ys, xs], uy[ys, xs] = np.cos(ang), np.sin(ang)
    radii = np.arange(14, 41).astype(float)
    tables = hsup._support_tables(xs, ys, ux[ys, xs], uy[ys, xs], edges.shape, radii, 0)
    for x, y, k in ((46, 54, 6), (100, 56, 5), (200, 150, 10), (3, 3, 0)):
        exact = hsup._circle_support(tables, x, y, k, -1.0)
        assert exact == pytest.approx(hsup._circle_support(tables, x, y, k, exact - 1e-9),
                                      abs=0)
        for beat in (exact, exact + 0.05, 0.9):
            got = hsup._circle_support(tables, x, y, k, beat)
            assert got == exact if exact > beat else got <= beat
    raw = np.zeros((edges.shape[0] + 2, edges.shape[1] + 2), np.int16)
    cells = np.empty(2 * xs.size, np.int64)
    n = hcirc._vote_slice(xs.astype(float), ys.astype(float), np.cos(ang), np.sin(ang), 20.0,
                          raw, cells, 0)
    assert n > xs.size and raw.sum() == n
    hcirc._clear_slice(raw, cells, n)
    assert not raw.any()


def _candidates_reference(xs, ys, nx, ny, radii, shape, threshold, pad):
    """The candidates straight from their definition, with whole dense arrays: every
    edge pixel votes for ``p +- r n`` (rounded half away from zero) in each radius slice
    (zero frame of one cell around the image grown by ``pad``), slices summed over 3x3,
    scores = sums / (2 pi r); cells at or above ``threshold`` (less 1e-9 in votes)
    whose score no neighbour in (radius, row, column) beats, in (radius, row, column)
    order."""
    hp, wp = shape[0] + 2 + 2 * pad, shape[1] + 2 + 2 * pad
    norm = 1 / (2 * np.pi * radii)
    sums = np.zeros((radii.size + 2, hp, wp))  # a zero slice before and after
    for k, r in enumerate(radii):
        raw = np.zeros((hp, wp))
        for sgn in (1, -1):
            vx, vy = xs + sgn * (r * nx), ys + sgn * (r * ny)
            cx = np.trunc(vx + np.copysign(0.5, vx)).astype(int) + 1 + pad
            cy = np.trunc(vy + np.copysign(0.5, vy)).astype(int) + 1 + pad
            inside = (cx >= 1) & (cx < wp - 1) & (cy >= 1) & (cy < hp - 1)
            np.add.at(raw, (cy[inside], cx[inside]), 1)
        box = sum(raw[1 + dy:hp - 1 + dy, 1 + dx:wp - 1 + dx]
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        sums[k + 1, 1:-1, 1:-1] = box
    score = sums * np.concatenate([[0], norm, [0]])[:, None, None]
    best = np.zeros_like(score)  # the largest score among the 27 cells around each cell
    for dk in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                best[1:-1, 1:-1, 1:-1] = np.maximum(
                    best[1:-1, 1:-1, 1:-1],
                    score[1 + dk:score.shape[0] - 1 + dk, 1 + dy:hp - 1 + dy,
                          1 + dx:wp - 1 + dx])
    passing = sums >= threshold / np.concatenate([[1], norm, [1]])[:, None, None] - 1e-9
    keep = passing & (score >= best)
    keep[0] = keep[-1] = False
    kyx = np.argwhere(keep)
    return np.column_stack([kyx[:, 0] - 1, kyx[:, 1] - 1 - pad, kyx[:, 2] - 1 - pad,
                            score[keep]])


@pytest.mark.parametrize("threshold, pad", [(0.25, 0), (0.15, 40), (0.4, 0)])
def test_circle_candidates_match_dense_reference(coins, threshold, pad):
    """The compiled candidate search keeps three slices at a time, sums 3x3 only on the
    rows that can reach the threshold and compares a slice's own cells in whole votes:
    on the coins' edges and normals, the same candidates, scores and order as the
    dense definition."""
    res = hough_circles(coins, radii=np.arange(14, 41), sigma=3.0)
    smoothed = cvgeo.gaussian_filter(cvgeo.to_float(coins), 3.0)
    ys, xs = np.nonzero(res.edges)
    nx, ny = hcirc._sobel_normals_kernel(smoothed, xs.astype(np.int64), ys.astype(np.int64))
    radii = np.arange(14, 41).astype(float)
    h, w = coins.shape
    got = hcirc._circle_candidates_kernel(xs.astype(float), ys.astype(float), nx, ny, radii,
                                          h, w, threshold, np.int16, pad)
    ref = _candidates_reference(xs.astype(float), ys.astype(float), nx, ny, radii, (h, w),
                                threshold, pad)
    assert got.shape[0] > 20
    np.testing.assert_array_equal(got[:, :3], ref[:, :3])
    np.testing.assert_allclose(got[:, 3], ref[:, 3], rtol=1e-15)


def test_normal_codes_match_python_angle_bins():
    """The code map's bins: ``1 + round(atan2(ny, nx) % pi * 254 / pi) % 254``, as Python
    computes it, for random normals and the angles at the ends of the range (+-pi,
    +-0, +-pi/2); 0 where the normal vanishes."""
    rng = np.random.default_rng(3)
    ang = rng.uniform(-np.pi, np.pi, 2000)
    nx = np.concatenate([np.cos(ang), [-1.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    ny = np.concatenate([np.sin(ang), [0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 0.0]])
    xs = np.arange(nx.size, dtype=np.int64) % 50
    ys = np.arange(nx.size, dtype=np.int64) // 50
    code = hsup._normal_codes_kernel(xs, ys, nx, ny, (ys.max() + 1, 50), 2)
    for x, y, u, v in zip(xs, ys, nx, ny):
        want = 0 if u == 0 and v == 0 else 1 + int(
            math.atan2(v, u) % math.pi * (254 / math.pi) + 0.5) % 254
        assert code[y + 2, x + 2] == want, (u, v)
    assert code.sum() == code[2:-2, 2:-2].sum()  # nothing in the frame


def _support_reference(edges, ux, uy, x, y, r):
    """The support in floating point, straight from its definition: per ray (one per
    pixel of arc) an edge pixel at radius r, r - 0.5 or r + 0.5 (rounded half away from
    zero) whose unit normal is within 30 degrees of the ray, either way."""
    n = max(8, math.ceil(2 * math.pi * r))
    hits = 0
    for i in range(n):
        c, s = math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)
        for dr in (0.0, -0.5, 0.5):
            px = int(math.copysign(math.floor(abs((r + dr) * c) + 0.5), c)) + x
            py = int(math.copysign(math.floor(abs((r + dr) * s) + 0.5), s)) + y
            if (0 <= px < edges.shape[1] and 0 <= py < edges.shape[0] and edges[py, px]
                    and abs(ux[py, px] * c + uy[py, px] * s) >= math.cos(math.pi / 6)):
                hits += 1
                break
    return hits / n


def test_circle_support_matches_float_reference(coins):
    """The support compares angles in 254 bins over pi (one byte per pixel); the float
    definition agrees to within the samples whose normal is within a bin (0.71 degrees)
    of the 30-degree limit: on the coins' real normals, to 2 % of the circumference."""
    res = hough_circles(coins, radii=np.arange(14, 41), sigma=3.0)
    smoothed = cvgeo.gaussian_filter(cvgeo.to_float(coins), 3.0)
    g = cvgeo.sobel(smoothed)
    mag = np.hypot(g.gx, g.gy)
    ux = np.where(mag > 0, g.gx / np.where(mag > 0, mag, 1), 0).astype(np.float32)
    uy = np.where(mag > 0, g.gy / np.where(mag > 0, mag, 1), 0).astype(np.float32)
    radii = np.arange(14, 41).astype(float)
    ys, xs = np.nonzero(res.edges)
    tables = hsup._support_tables(xs, ys, ux[ys, xs], uy[ys, xs], res.edges.shape, radii, 0)
    for x, y, r in np.rint(res.circles[:8]).astype(int).tolist() + [[150, 150, 20]]:
        k = int(np.abs(radii - r).argmin())
        ref = _support_reference(res.edges, ux, uy, x, y, radii[k])
        assert abs(hsup._circle_support(tables, x, y, k, -1.0) - ref) <= 0.02, (x, y, r)


def test_coins_agree_with_skimage_live(coins):
    """skimage's pipeline (integer radii, whole-pixel centres) run live: the same 24 coins.

    Its answers are themselves up to 2.8 px from the careful reference above, and the
    worst coin (reference (173.2, 260.9), about 56 x 53 px, not quite round) is missed by
    both in opposite directions; so: every coin within the sum of both errors' bounds
    (6 px, 3 px), and the typical coin within 1.5 px and 1 px.
    """
    from skimage.feature import canny
    from skimage.transform import hough_circle, hough_circle_peaks

    radii = np.arange(14, 41)
    edges = canny(coins, sigma=3, low_threshold=10, high_threshold=50)
    _, cx, cy, r = hough_circle_peaks(hough_circle(edges, radii), radii, min_xdistance=15,
                                      min_ydistance=15, total_num_peaks=24)
    theirs = np.stack([cx, cy, r], axis=1).astype(float)
    ours = hough_circles(coins, radii=radii).circles
    d, dr, best = match_circles(ours, theirs)
    assert len(set(best.tolist())) == 24
    assert d.max() <= 6.0 and dr.max() <= 3.0
    assert np.median(d) <= 1.5 and np.median(dr) <= 1.0


@settings(max_examples=15, deadline=None)
@given(x=st.floats(30, 90), y=st.floats(30, 70), r=st.floats(12, 28))
def test_property_single_disc_found(x, y, r):
    img = disc_image((100, 120), [(x, y, r)])
    res = hough_circles(img, radii=np.arange(10, 31), sigma=1.5, num_peaks=1)
    assert res.circles.shape == (1, 3)
    cx, cy, cr = res.circles[0]
    assert math.hypot(cx - x, cy - y) <= 0.75 and abs(cr - r) <= 0.75


def test_bad_circle_input():
    img = np.zeros((40, 40), np.float32)
    for radii, exc, msg in [
        ([], ValueError, "radii must be a non-empty 1-D array"),
        ([[10, 12]], ValueError, "radii must be a non-empty 1-D array"),
        ([10, 0], ValueError, "radii must all be > 0, got min 0"),
        ([-5, 10], ValueError, "radii must all be > 0, got min -5"),
        ([10, np.nan], ValueError, "radii must be finite"),
        ("10", TypeError, "radii must be a 1-D array of positive numbers"),
        (["a"], TypeError, "radii must be a 1-D array of positive numbers"),
    ]:
        with pytest.raises(exc, match=f"^hough_circles: {msg}"):
            hough_circles(img, radii=radii)
    with pytest.raises(ValueError, match=r"^hough_circles: image must be \(H, W\), got shape"):
        hough_circles(np.zeros((40, 40, 3), np.float32), radii=[10])
    with pytest.raises(ValueError, match="^hough_circles: image must be finite"):
        hough_circles(np.full((40, 40), np.nan), radii=[10])
    with pytest.raises(ValueError, match="^hough_circles: edges must be a binary edge map"):
        hough_circles(img, radii=[10], edges=np.full((40, 40), 7, np.uint8))
    with pytest.raises(ValueError, match=r"^hough_circles: edges must have the image's shape"):
        hough_circles(img, radii=[10], edges=np.zeros((30, 40), bool))
    with pytest.raises(ValueError, match="^hough_circles: edges must be None when image is"):
        hough_circles(np.zeros((40, 40), bool), radii=[10], edges=np.zeros((40, 40), bool))
    with pytest.raises(ValueError, match=r"^hough_circles: min_votes_fraction must be in \(0"):
        hough_circles(img, radii=[10], min_votes_fraction=0)
    with pytest.raises(ValueError, match=r"^hough_circles: sigma must be > 0"):
        hough_circles(img, radii=[10], sigma=-1)
    with pytest.raises(ValueError, match=r"^hough_circles: num_peaks must be an int >= 1"):
        hough_circles(img, radii=[10], num_peaks=0)
    with pytest.raises(ValueError, match=r"^hough_circles: min_distance_px must be >= 0"):
        hough_circles(img, radii=[10], min_distance_px=-2)
    with pytest.raises(TypeError, match=r"^hough_circles: subpixel must be a bool"):
        hough_circles(img, radii=[10], subpixel=1)


# --------------------------------------------------------------------------- renamed keywords
def test_renamed_keywords_work_for_one_release_with_a_warning():
    """The old keywords give the same result as the new ones, with a DeprecationWarning
    naming the new keyword; both at once is a TypeError; pipelines accept them too."""
    from cvgeo.pipeline import Step

    img = np.zeros((60, 80), dtype=bool)
    render_segment(img, 5, 10, 70, 40)
    render_segment(img, 10, 50, 60, 52)
    new = hough_segments(img, min_votes=8, min_length_px=25.0, max_gap_px=2, seed=1)
    assert len(new) == 2
    with pytest.warns(DeprecationWarning) as caught:
        old = hough_segments(img, threshold=8, min_length=25.0, max_gap=2, seed=1)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 3, messages  # one warning per old keyword, each naming the new
    for was, now in (("max_gap", "max_gap_px"), ("min_length", "min_length_px"),
                     ("threshold", "min_votes")):
        assert any(m.startswith(f"hough_segments: the keyword '{was}' is deprecated")
                   and m.endswith(f"use '{now}'") for m in messages), (was, messages)
    np.testing.assert_array_equal(old, new)
    with pytest.raises(TypeError, match="hough_segments: got both 'max_gap' and its new name"):
        hough_segments(img, max_gap=2, max_gap_px=2)
    with pytest.warns(DeprecationWarning, match="'threshold' is deprecated"):
        piped = Step("hough_segments", threshold=8, min_length_px=25.0, max_gap_px=2,
                     seed=1).transform(img)
    np.testing.assert_array_equal(piped, new)

    res = hough_lines(img)
    with pytest.warns(DeprecationWarning, match="use 'min_votes'"):
        old_peaks = hough_line_peaks(res, threshold=20)
    np.testing.assert_array_equal(old_peaks.rhos, hough_line_peaks(res, min_votes=20).rhos)

    yy, xx = np.mgrid[:70, :70]
    disc = ((xx - 35) ** 2 + (yy - 33) ** 2 <= 15 ** 2).astype(np.float32)
    with pytest.warns(DeprecationWarning, match="use 'min_votes_fraction'"):
        old_c = hough_circles(disc, radii=np.arange(12, 19), threshold=0.6)
    new_c = hough_circles(disc, radii=np.arange(12, 19), min_votes_fraction=0.6)
    np.testing.assert_array_equal(old_c.circles, new_c.circles)
    assert len(new_c.circles) == 1


def test_fit_line_direction_equals_the_trigonometric_definition():
    """The segment walk's least-squares direction (half-angle formulas, no trig call) is
    (cos phi, sin phi) with phi = atan2(2 sxy, sxx - syy) / 2, to rounding, for pixel sets
    of every orientation, including exactly horizontal, vertical and isotropic ones."""
    rng = np.random.default_rng(5)
    sets = [np.array([[0, 0], [5, 0], [9, 0]]), np.array([[3, 1], [3, 7], [3, 20]]),
            np.array([[0, 0], [1, 0], [0, 1], [1, 1]]), np.array([[2, 2]])]
    for angle in np.linspace(-np.pi, np.pi, 73):
        t = rng.uniform(-30, 30, 40)
        pts = np.stack([50 + t * np.cos(angle), 50 + t * np.sin(angle)], axis=1)
        sets.append(np.rint(pts + rng.normal(0, 0.7, pts.shape)))
    for pts in sets:
        mom = np.zeros(6)
        for x, y in pts.astype(float):
            hsegs._add_moment(mom, x, y)
        cx, cy, ux, uy = hsegs._fit_line(mom)
        n = len(pts)
        mx, my = pts.mean(axis=0)
        sxx = mom[3] / n - cx * cx
        sxy = mom[4] / n - cx * cy
        syy = mom[5] / n - cy * cy
        phi = 0.5 * math.atan2(2 * sxy, sxx - syy)
        assert (cx, cy) == pytest.approx((mx, my), abs=1e-9)
        assert (ux, uy) == pytest.approx((math.cos(phi), math.sin(phi)), abs=1e-12)
        assert ux >= 0 and ux * ux + uy * uy == pytest.approx(1.0, abs=1e-15)
