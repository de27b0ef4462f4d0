"""Guard the public surface: removing or adding a public name needs this list edited too."""

import cvgeo

CVGEO_ALL = {
    # _checks
    "DegenerateError",
    # image
    "DEFAULT_MAX_PIXELS", "denormalize", "normalize", "read_image", "resize", "to_float",
    "to_gray", "to_uint8", "write_image",
    # filters
    "BORDERS", "Gradient", "gaussian_filter", "gaussian_gradient", "gaussian_kernel",
    "separable_convolve", "sobel",
    # edges
    "canny",
    # hough
    "HoughCircles", "HoughLinePeaks", "HoughLines", "hough_circles", "hough_line_peaks",
    "hough_lines", "hough_segments",
    # draw
    "draw_circles", "draw_lines", "draw_segments",
    # fourier
    "FrequencyFilter", "FrequencyGrid", "LaplacianPyramid", "Spectrum", "apply_filter",
    "downsample", "fft_convolve", "frequency_filter", "frequency_grid", "gaussian_blur",
    "gaussian_pyramid", "hybrid_image", "hybrid_scales", "laplacian_pyramid", "spectrum",
    # geometry.homogeneous
    "NormalizedPoints", "from_homogeneous", "hartley_normalize", "is_at_infinity",
    "to_homogeneous",
    # ops
    "OpSpec", "register_op", "to_display",
    # pipeline
    "Pipeline", "PipelineFileError", "Step", "Trace", "TraceStep", "load_pipeline",
    "make_pipeline", "op_parameters", "save_pipeline",
    # batch
    "BatchFailure", "BatchResult", "run_batch",
    # gallery
    "GalleryResult", "build_gallery",
}


def test_cvgeo_all_matches_checked_in_list():
    assert set(cvgeo.__all__) == CVGEO_ALL
    assert len(cvgeo.__all__) == len(set(cvgeo.__all__))


def test_every_public_name_exists_and_is_documented():
    for name in cvgeo.__all__:
        obj = getattr(cvgeo, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"cvgeo.{name} has no docstring"


def test_cvgeo_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, cvgeo; print('torch' in sys.modules, 'deep' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
