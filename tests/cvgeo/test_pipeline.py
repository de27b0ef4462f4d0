"""Pipelines: steps as parameter holders, nested parameters, trace, files (JSON / TOML)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvgeo
from cvgeo.ops import OPS, register_op, to_display
from cvgeo.pipeline import (
    Pipeline,
    PipelineFileError,
    Step,
    Trace,
    load_pipeline,
    make_pipeline,
    op_parameters,
    save_pipeline,
)

# ----------------------------------------------------------- test-only ops
CALLS: list[str] = []


@dataclass(frozen=True)
class ThresholdResult:
    mask: np.ndarray
    level: float


def spy_threshold(image: np.ndarray, *, level: float = 0.5, invert: bool = False,
                  label: str = "x", count: int = 1,
                  mode: Literal["above", "below"] = "above",
                  size: tuple[int, int] = (1, 1)) -> ThresholdResult:
    """Test op: records each call, returns a dataclass (needs an output adaptor)."""
    CALLS.append(label)
    g = cvgeo.to_gray(image)
    mask = (g > level) if mode == "above" else (g < level)
    return ThresholdResult(mask ^ invert, level)


def halve_adaptor(result: ThresholdResult, image: np.ndarray) -> np.ndarray:
    """Adaptor seeing the step input: the mask times the grey input."""
    return result.mask * cvgeo.to_gray(image)


class MeanThreshold:
    """A learned step: fit learns the mean, predict thresholds at mean + offset."""

    def __init__(self, *, offset: float = 0.0) -> None:
        self.offset = offset

    def get_params(self, deep: bool = True) -> dict:
        return {"offset": self.offset}

    def set_params(self, **params) -> MeanThreshold:
        for k, v in params.items():
            if k != "offset":
                raise ValueError(f"MeanThreshold: unknown parameter {k!r}")
            setattr(self, k, v)
        return self

    def fit(self, image: np.ndarray) -> MeanThreshold:
        self.mean_ = float(np.mean(image))
        return self

    def predict(self, image: np.ndarray) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise ValueError("MeanThreshold: not fitted; call fit first")
        return np.asarray(image) > self.mean_ + self.offset


@pytest.fixture
def test_ops():
    """Register the test ops for one test, then remove them."""
    before = dict(OPS)
    register_op("spy_threshold", spy_threshold, output="mask")
    register_op("spy_masked", spy_threshold,
                output="tests.cvgeo.test_pipeline:halve_adaptor")
    register_op("mean_threshold", MeanThreshold)
    CALLS.clear()
    yield
    OPS.clear()
    OPS.update(before)


@pytest.fixture
def img(astronaut):
    return astronaut[100:164, 180:260]  # (64, 80, 3) uint8, real texture


def gray_resize() -> Pipeline:
    return make_pipeline(cvgeo.to_gray, Step("resize", output_shape=(16, 20),
                                             interpolation="area"))


# ------------------------------------------------------------------ Step
def test_step_construction_only_stores():
    s = Step("resize", output_shape="not a shape", nonsense=1)
    assert s.op == "resize" and s.params == {"output_shape": "not a shape", "nonsense": 1}
    assert Step("no_such_op").op == "no_such_op"  # nothing resolved or checked yet


def test_step_validation_happens_in_the_function_when_run(img):
    with pytest.raises(ValueError, match=r"^resize: output_shape\[0\] must be an int >= 1"):
        Step("resize", output_shape=(0, 5))(img)
    with pytest.raises(ValueError, match="unknown op 'no_such_op'"):
        Step("no_such_op")(img)
    with pytest.raises(TypeError, match="resize: step needs parameter.*output_shape"):
        Step("resize")(img)


def test_step_get_and_set_params():
    s = Step("resize", output_shape=(8, 8))
    assert s.get_params() == {"output_shape": (8, 8), "interpolation": "auto",
                              "max_pixels": cvgeo.DEFAULT_MAX_PIXELS}
    assert s.set_params(interpolation="nearest") is s
    assert s.get_params()["interpolation"] == "nearest"
    with pytest.raises(ValueError, match="resize: unknown parameter 'sigma'.*interpolation"):
        s.set_params(sigma=1.0)
    assert op_parameters("resize")["interpolation"] == "auto"


def test_op_parameters_unknown_op_is_a_value_error_listing_the_ops():
    for bad, shown in (("cany", "'cany'"), (3, "3"), (None, "None")):
        with pytest.raises(ValueError, match=r"^op_parameters: name must be a registered op, "
                                             rf"got {shown}; registered ops: .*\bcanny\b") as e:
            op_parameters(bad)
        assert not isinstance(e.value, KeyError)
    assert op_parameters("gaussian_blur") == op_parameters("gaussian_filter")


def test_renamed_parameters_keep_working_in_steps_and_files(tmp_path):
    """A parameter renamed with a deprecation path (kmeans_segment's k -> n_clusters) is
    still accepted by Step.set_params and in pipeline files, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match="parameter 'k' is deprecated.*'n_clusters'"):
        s = Step("kmeans_segment").set_params(k=2)
    assert s.params == {"n_clusters": 2}
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"steps": [{"op": "kmeans_segment", "params": {"k": 2}}]}))
    with pytest.warns(DeprecationWarning, match=r"load_pipeline: .*old.json.*kmeans_segment"):
        pipe = load_pipeline(path)
    assert pipe["kmeans_segment"].params == {"n_clusters": 2}
    img = np.zeros((4, 4), np.uint8)
    img[:, 2:] = 200
    np.testing.assert_allclose(pipe(img)[0], [0, 0, 200 / 255, 200 / 255], atol=1e-6)  # mean colour


def test_pipeline_modules_split_and_old_imports_work():
    import cvgeo.display
    import cvgeo.ops
    import cvgeo.pipeline
    from cvgeo.pipeline import core, files

    assert cvgeo.pipeline.Pipeline is core.Pipeline and cvgeo.Pipeline is core.Pipeline
    assert cvgeo.pipeline.load_pipeline is files.load_pipeline
    assert cvgeo.pipeline.MAX_PIPELINE_FILE_BYTES == 1 << 20
    for name in ("to_display", "stretch", "label_colours", "label_mean_colour"):
        assert getattr(cvgeo.ops, name) is getattr(cvgeo.display, name)
    assert cvgeo.to_display is cvgeo.display.to_display


def test_step_clone_is_independent():
    s = Step("resize", output_shape=[8, 8])
    c = s.clone()
    c.params["output_shape"].append(3)
    c.set_params(interpolation="bicubic")
    assert s.params == {"output_shape": [8, 8]}
    assert c == Step("resize", output_shape=[8, 8, 3], interpolation="bicubic")


def test_missing_module_is_a_clear_error_not_an_import_crash(test_ops, img):
    register_op("ghost", "cvgeo.not_a_module:ghost")
    with pytest.raises(ImportError, match="op 'ghost' needs module 'cvgeo.not_a_module'"):
        Step("ghost")(img)


# -------------------------------------------------------------- Pipeline
def test_make_pipeline_names_steps_from_functions():
    p = make_pipeline(cvgeo.to_gray, "resize", Step("resize", output_shape=(2, 2)),
                      np.flipud)
    assert [n for n, _ in p.steps] == ["to_gray", "resize-1", "resize-2", "flipud"]
    assert p["to_gray"] == Step("to_gray") and p[2] == Step("resize", output_shape=(2, 2))
    assert [n for n, _ in p[1:3].steps] == ["resize-1", "resize-2"]


def test_pipeline_output_equals_composition(img):
    p = gray_resize()
    expected = cvgeo.resize(cvgeo.to_gray(img), (16, 20), interpolation="area")
    out = p(img)
    assert out.dtype == np.float32 and out.shape == (16, 20)
    np.testing.assert_array_equal(out, expected)


def test_set_params_on_nested_step_changes_result_as_expected(img):
    p = gray_resize()
    before = p(img)
    p.set_params("resize__output_shape", (8, 10))
    after = p(img)
    assert after.shape == (8, 10)
    np.testing.assert_array_equal(after, cvgeo.resize(cvgeo.to_gray(img), (8, 10),
                                                      interpolation="area"))
    # 2x2 area averaging of the 16x20 result is the 8x10 result (area is exact for 4x, 8x)
    np.testing.assert_allclose(after, before.reshape(8, 2, 10, 2).mean(axis=(1, 3)),
                               atol=1e-6)
    p.set_params(resize__interpolation="nearest")
    assert p.get_params()["resize__interpolation"] == "nearest"
    assert not np.array_equal(p(img), after)
    with pytest.raises(ValueError, match="unknown step 'nope' in 'nope__x'"):
        p.set_params(nope__x=1)
    with pytest.raises(ValueError, match="resize: unknown parameter 'sigma'"):
        p.set_params(resize__sigma=1)


def test_nested_pipeline_addressing(img):
    inner = gray_resize()
    outer = Pipeline([("prep", inner), ("stretch", Step("to_float", scale="minmax"))])
    params = outer.get_params()
    assert params["prep__resize__output_shape"] == (16, 20)
    outer.set_params(prep__resize__output_shape=(4, 5))
    out = outer(img)
    assert out.shape == (4, 5) and out.min() == 0.0 and out.max() == 1.0


def test_pipeline_clone_is_independent(img):
    p = gray_resize()
    c = p.clone()
    c.set_params(resize__output_shape=(4, 4))
    assert p(img).shape == (16, 20) and c(img).shape == (4, 4)


def test_pipeline_step_names_checked_when_used(img):
    p = Pipeline([("a", Step("to_gray")), ("a", Step("to_gray"))])  # stored as given
    with pytest.raises(ValueError, match="unique, got 'a' twice"):
        p(img)
    with pytest.raises(ValueError, match="without '__'"):
        Pipeline([("a__b", Step("to_gray"))])(img)


def test_trace_returns_every_intermediate_with_timing(img):
    p = make_pipeline(cvgeo.to_gray, Step("resize", output_shape=(16, 20)),
                      Step("to_float", scale="minmax"))
    t = p.trace(img)
    assert isinstance(t, Trace) and [s.name for s in t.steps] == ["to_gray", "resize",
                                                                  "to_float"]
    g = cvgeo.to_gray(img)
    r = cvgeo.resize(g, (16, 20))
    np.testing.assert_array_equal(t["to_gray"].output, g)
    np.testing.assert_array_equal(t[1].output, r)
    np.testing.assert_array_equal(t.output, cvgeo.to_float(r, scale="minmax"))
    np.testing.assert_array_equal(t.output, p(img))
    assert all(s.seconds >= 0 for s in t.steps) and t.seconds == sum(s.seconds
                                                                      for s in t.steps)
    assert t.input is img
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.steps[0].seconds = 1.0  # type: ignore[misc]
    with pytest.raises(KeyError, match="no step named 'x'"):
        t["x"]


def test_output_adaptors_field_and_function(test_ops, img):
    p = make_pipeline(Step("spy_threshold", level=0.4))
    t = p.trace(img)
    assert isinstance(t[0].raw, ThresholdResult) and t[0].raw.level == 0.4
    np.testing.assert_array_equal(t.output, cvgeo.to_gray(img) > 0.4)
    q = make_pipeline(Step("spy_masked", level=0.4))
    g = cvgeo.to_gray(img)
    np.testing.assert_array_equal(q(img), (g > 0.4) * g)


def test_learned_step_fit_then_predict(test_ops, img):
    p = make_pipeline(cvgeo.to_gray, MeanThreshold(offset=0.1))
    assert [n for n, _ in p.steps] == ["to_gray", "mean_threshold"]
    with pytest.raises(ValueError, match="not fitted"):
        p(img)
    p.fit(img)
    g = cvgeo.to_gray(img)
    assert p["mean_threshold"].mean_ == pytest.approx(float(g.mean()))
    np.testing.assert_array_equal(p(img), g > g.mean() + 0.1)
    p.set_params(mean_threshold__offset=-0.1)
    np.testing.assert_array_equal(p(img), g > g.mean() - 0.1)
    c = p.clone()  # parameters copied, fitted state not
    assert c["mean_threshold"].offset == -0.1 and not hasattr(c["mean_threshold"], "mean_")


# ------------------------------------------------------------------ files
@pytest.mark.parametrize("ext", [".json", ".toml"])
def test_save_load_rerun_identical(tmp_path, img, ext):
    p = make_pipeline(cvgeo.to_gray, Step("resize", output_shape=(16, 20),
                                          interpolation="bicubic"),
                      Step("to_float", scale="minmax"))
    path = save_pipeline(p, tmp_path / f"pipe{ext}")
    q = load_pipeline(path)
    assert q.get_params(deep=True).keys() == p.get_params(deep=True).keys()
    for k, v in p.get_params().items():
        if k != "steps" and "__" in k:
            assert q.get_params()[k] == v, k
    out_p, out_q = p(img), q(img)
    assert out_p.dtype == out_q.dtype and out_p.shape == out_q.shape
    assert out_p.tobytes() == out_q.tobytes()
    # saving the loaded pipeline gives the same file
    again = save_pipeline(q, tmp_path / f"again{ext}")
    assert again.read_text() == path.read_text()


def test_saved_files_are_plain_data(tmp_path):
    p = gray_resize()
    data = json.loads(save_pipeline(p, tmp_path / "p.json").read_text())
    assert data == {"format": "cvgeo-pipeline", "version": 1, "steps": [
        {"name": "to_gray", "op": "to_gray", "params": {}},
        {"name": "resize", "op": "resize",
         "params": {"output_shape": [16, 20], "interpolation": "area",
                    "max_pixels": 100_000_000}}]}
    import tomllib

    assert tomllib.loads(save_pipeline(p, tmp_path / "p.toml").read_text()) == data


def test_save_refuses_what_a_file_cannot_hold(tmp_path, test_ops):
    with pytest.raises(ValueError, match="unregistered function 'flipud'"):
        save_pipeline(make_pipeline(np.flipud), tmp_path / "p.json")
    with pytest.raises(ValueError, match="parameter 'level' is array"):
        save_pipeline(make_pipeline(Step("spy_threshold", level=np.zeros((100, 100)))),
                      tmp_path / "p.json")
    with pytest.raises(ValueError, match="parameter 'label' is object"):
        save_pipeline(make_pipeline(Step("spy_threshold", label=object())), tmp_path / "p.json")
    with pytest.raises(ValueError, match="must end in .json or .toml"):
        save_pipeline(gray_resize(), tmp_path / "p.yaml")
    with pytest.raises(ValueError, match="step 'resize' needs parameter.*output_shape"):
        save_pipeline(make_pipeline("resize"), tmp_path / "p.json")
    with pytest.raises(ValueError, match="step 'pipeline' is a nested pipeline"):
        save_pipeline(make_pipeline(gray_resize()), tmp_path / "p.json")
    assert not list(tmp_path.iterdir())  # nothing written on error


def test_learned_step_saves_parameters_and_loads(tmp_path, test_ops, img):
    p = make_pipeline(cvgeo.to_gray, MeanThreshold(offset=0.05)).fit(img)
    q = load_pipeline(save_pipeline(p, tmp_path / "p.toml"))
    assert isinstance(q["mean_threshold"], MeanThreshold)
    assert q["mean_threshold"].offset == 0.05
    np.testing.assert_array_equal(q.fit(img)(img), p(img))


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=40, deadline=None)
@given(level=st.floats(allow_nan=False, allow_infinity=False, width=64),
       count=st.integers(-2**62, 2**62), label=_text, invert=st.booleans(),
       size=st.tuples(st.integers(0, 10**9), st.integers(0, 10**9)),
       ext=st.sampled_from([".json", ".toml"]))
def test_file_round_trip_of_parameter_values(tmp_path_factory, level, count, label, invert,
                                              size, ext):
    before = dict(OPS)
    try:
        register_op("spy_threshold", spy_threshold, output="mask")
        p = make_pipeline(Step("spy_threshold", level=level, count=count, label=label,
                               invert=invert, size=size, mode="below"))
        path = save_pipeline(p, tmp_path_factory.mktemp("rt") / f"p{ext}")
        got = load_pipeline(path)["spy_threshold"].get_params()
        assert got == {"level": level, "invert": invert, "label": label, "count": count,
                       "mode": "below", "size": size}
        assert type(got["level"]) is float and type(got["size"]) is tuple
    finally:
        OPS.clear()
        OPS.update(before)


# ------------------------------------------------------------ load errors
def _write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


def _steps(*steps) -> str:
    return json.dumps({"steps": list(steps)})


@pytest.mark.parametrize("steps, match", [
    ([{"op": "no_such_op"}], r"steps\[0\]: unknown op 'no_such_op'; registered ops: .*resize"),
    ([{"op": "os:system"}], r"unknown op 'os:system'"),
    ([{"op": "to_gray"}, {"op": "resize", "params": {"output_shape": [2, 2], "sigma": 1}}],
     r"steps\[1\] \(resize\): unknown parameter 'sigma'; valid parameters: output_shape, "
     r"interpolation"),
    ([{"op": "resize", "params": {"output_shape": "16,16"}}],
     r"parameter 'output_shape' must be a list \[int, int\], got '16,16'"),
    ([{"op": "resize", "params": {"output_shape": [16, 16.5]}}],
     r"parameter 'output_shape' must be a list \[int, int\], got \[16, 16.5\]"),
    ([{"op": "resize", "params": {"output_shape": [16, 16, 3]}}],
     r"'output_shape' must be a list \[int, int\]"),
    ([{"op": "resize", "params": {"output_shape": [8, 8], "interpolation": "lanczos"}}],
     r"'interpolation' must be one of 'auto', 'area', 'nearest', 'bilinear', 'bicubic', "
     r"got 'lanczos'"),
    ([{"op": "to_float", "params": {"scale": "__import__('os').system('echo hi')"}}],
     r"parameter 'scale' must be one of 'dtype', 'minmax' or null, got"),
    ([{"op": "resize"}], r"steps\[0\] \(resize\): missing required parameter\(s\) output_shape"),
    ([{"op": "to_gray", "code": "print(1)"}], r"steps\[0\]: unknown key\(s\) \['code'\]"),
    ([{"op": "to_gray"}, {"op": "to_gray"}], r"steps\[1\]: step name 'to_gray' is used twice"),
    ([{"op": "to_gray", "name": "a__b"}], r"'name' must be a non-empty string without '__'"),
    ([], r"'steps' must be a non-empty list"),
    (["to_gray"], r"steps\[0\] must be a table/object with 'op', got 'to_gray'"),
])
def test_load_errors_name_the_problem(tmp_path, steps, match):
    path = _write(tmp_path, "p.json", json.dumps({"steps": steps}))
    with pytest.raises(PipelineFileError, match=match):
        load_pipeline(path)


def test_load_wrong_parameter_types_against_annotations(tmp_path, test_ops):
    cases = [({"level": "0.5"}, r"'level' must be float, got '0.5'"),
             ({"level": True}, r"'level' must be float, got True"),
             ({"count": 1.5}, r"'count' must be int, got 1.5"),
             ({"count": True}, r"'count' must be int, got True"),
             ({"invert": 1}, r"'invert' must be bool, got 1"),
             ({"label": 3}, r"'label' must be str, got 3"),
             ({"mode": "sideways"}, r"'mode' must be one of 'above', 'below', got 'sideways'")]
    for params, match in cases:
        path = _write(tmp_path, "p.json", _steps({"op": "spy_threshold", "params": params}))
        with pytest.raises(PipelineFileError, match=match):
            load_pipeline(path)
    ok = load_pipeline(_write(tmp_path, "ok.json", _steps(
        {"op": "spy_threshold", "params": {"level": 1, "count": 2, "size": [3, 4]}})))
    level = ok["spy_threshold"].params["level"]
    assert level == 1.0 and type(level) is float  # an int is a valid float, stored as float
    assert ok["spy_threshold"].params["size"] == (3, 4)
    assert CALLS == []  # loading never runs a step


def test_load_checks_every_step_before_building_and_runs_nothing(tmp_path, test_ops):
    path = _write(tmp_path, "p.json", _steps({"op": "spy_threshold"},
                                             {"op": "spy_threshold", "name": "b",
                                              "params": {"level": "high"}}))
    with pytest.raises(PipelineFileError, match=r"steps\[1\] \(spy_threshold\)"):
        load_pipeline(path)
    assert CALLS == []


@pytest.mark.parametrize("name, text", [
    ("p.json", "__import__('os').system('touch {marker}')"),
    ("p.json", "import os; open('{marker}', 'w').write('pwned')"),
    ("p.toml", "import os\nos.system('touch {marker}')\n"),
    ("p.toml", "steps = [{{ op = \"to_gray\" }}]\nexec(open('{marker}', 'w'))\n"),
    ("p.json", '{{"steps": [{{"op": "to_gray"}}]}} ; open("{marker}", "w")'),
])
def test_python_code_in_a_pipeline_file_is_refused(tmp_path, name, text):
    marker = tmp_path / "marker"
    path = _write(tmp_path, name, text.format(marker=marker))
    kind = "JSON" if name.endswith(".json") else "TOML"
    with pytest.raises(PipelineFileError, match=rf"not valid {kind} .*never code"):
        load_pipeline(path)
    assert not marker.exists()


def test_load_refuses_absurdly_large_files_unread(tmp_path, monkeypatch):
    from cvgeo.pipeline import files as pipeline_mod  # the loader reads the limit here

    ok = json.dumps({"steps": [{"op": "to_gray"}]})
    padded = ok[:-1] + " " * (pipeline_mod.MAX_PIPELINE_FILE_BYTES) + "}"
    path = _write(tmp_path, "big.json", padded)  # valid JSON, but over the limit
    with pytest.raises(PipelineFileError, match=r"at most 1048576 bytes, got 1048\d+ bytes"):
        load_pipeline(path)
    monkeypatch.setattr(pipeline_mod, "MAX_PIPELINE_FILE_BYTES", 2 << 20)
    assert len(load_pipeline(path).steps) == 1  # the same file within a larger limit


def test_load_refuses_other_extensions_and_formats(tmp_path):
    marker = tmp_path / "marker"
    py = _write(tmp_path, "p.py", f"open({str(marker)!r}, 'w')\n")
    with pytest.raises(PipelineFileError, match="must end in .json or .toml, got '.py'"):
        load_pipeline(py)
    assert not marker.exists()
    with pytest.raises(PipelineFileError, match="format must be 'cvgeo-pipeline'"):
        load_pipeline(_write(tmp_path, "a.json", '{"format": "other", "steps": []}'))
    with pytest.raises(PipelineFileError, match="version must be 1, got 2"):
        load_pipeline(_write(tmp_path, "b.json", '{"version": 2, "steps": [{"op": "to_gray"}]}'))
    with pytest.raises(PipelineFileError, match=r"unknown top-level key\(s\) \['run'\]"):
        load_pipeline(_write(tmp_path, "c.json", '{"run": "x", "steps": [{"op": "to_gray"}]}'))
    with pytest.raises(PipelineFileError, match="duplicate key 'op'"):
        load_pipeline(_write(tmp_path, "d.json", '{"steps": [{"op": "to_gray", "op": "x"}]}'))
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_pipeline(tmp_path / "missing.toml")



# ------------------------------------------------------- hostile pipeline files
_OP = '{{"steps": [{{"op": "gaussian_filter", "params": {{"sigma": {}}}}}]}}'
_TOML_SIGMA = '[[steps]]\nop = "gaussian_filter"\nparams = {{ sigma = {} }}\n'
_H = '[[{}, 0, 0], [0, 1, 0], [0, 0, 1]]'
_WARP = '{{"steps": [{{"op": "warp", "params": {{"H": {}, "output_shape": [4, 4]}}}}]}}'

HOSTILE_FILES = {
    # name: (content, what the one-line message says)
    "nested.json": ("[" * 100_000 + "]" * 100_000, r"not valid JSON: nested too deeply"),
    "nested_param.json": (_OP.format("[" * 5000 + "]" * 5000), r"nested too deeply"),
    "nested.toml": ("a = " + "[" * 100_000 + "]" * 100_000, r"not valid TOML: nested too deep"),
    "nested_tables.toml": ("a = " + "{b = " * 5000 + "1" + "}" * 5000, r"nested too deeply"),
    "nested_17.json": (_OP.format("[" * 14 + "1" + "]" * 14),
                       r"nesting deeper than 16 levels at steps\[0\]\['params'\]\['sigma'\]"),
    "int_4000_digits.json": (_OP.format("9" * 4000), r"an integer of 4000 digits"),
    "int_4000_digits.toml": (_TOML_SIGMA.format("9" * 4000),
                             r"steps\[0\]\['params'\]\['sigma'\]: an integer of 4000 digits"),
    "int_5000_digits.json": (_OP.format("9" * 5000), r"an integer of 5000 digits"),
    "int_5000_digits.toml": (_TOML_SIGMA.format("9" * 5000), r"not valid TOML .*digits"),
    "int_in_shape.json": ('{"steps": [{"op": "resize", "params": {"output_shape": [1' + "0" * 30
                          + ', 2]}}]}', r"an integer of 31 digits"),
    "int_in_matrix.json": (_WARP.format(_H.format("9" * 4000)), r"an integer of 4000 digits"),
    "int_version.json": ('{"version": ' + "9" * 4000 + ', "steps": [{"op": "to_gray"}]}',
                         r"an integer of 4000 digits"),
    "float_overflow.json": (_OP.format("1e400"), r"1e400 is not a finite float"),
    "nan.json": (_OP.format("NaN"), r"NaN is not a number a pipeline file may hold"),
    "infinity.json": (_OP.format("-Infinity"), r"-Infinity is not a number"),
    "nan_in_matrix.json": (_WARP.format(_H.format("NaN")), r"NaN is not a number"),
    "nan.toml": (_TOML_SIGMA.format("nan"), r"nan is not a finite float"),
    "inf.toml": (_TOML_SIGMA.format("-inf"), r"-inf is not a finite float"),
    "float_overflow.toml": (_TOML_SIGMA.format("1e400"), r"1e400 is not a finite float"),
    "huge_name.json": (_steps({"op": "to_gray", "name": "x" * 900_000}),
                       r"steps\[0\]\['name'\]: a string of 900000 characters; strings are at "
                       r"most 1000"),
    "huge_op.json": (_steps({"op": "y" * 900_000}), r"a string of 900000 characters"),
    "huge_key.json": ('{"steps": [{"op": "to_gray", "params": {"' + "k" * 500_000 + '": 1}}]}',
                      r"a key in steps\[0\]\['params'\]: a string of 500000 characters"),
    "huge_array.json": (_steps({"op": "resize", "params": {"output_shape": [1] * 300_000}}),
                        r"output_shape'\]: a list of 300000 items; lists hold at most 4096"),
    "many_steps.json": (_steps(*[{"op": "to_gray", "name": f"s{i}"} for i in range(1001)]),
                        r"'steps' holds 1001 steps; a pipeline file holds at most 1000"),
    "many_keys.json": ('{"steps": [{"op": "to_gray", "params": {'
                       + ", ".join(f'"k{i}": 1' for i in range(4000)) + "}}]}",
                       r"unknown parameter 'k0'"),
    "duplicate_keys.json": ('{"steps": [{"op": "to_gray", "op": "resize"}]}',
                            r"not valid JSON \(duplicate key 'op'\)"),
    "duplicate_top.json": ('{"steps": [{"op": "to_gray"}], "steps": []}',
                           r"duplicate key 'steps'"),
    "duplicate_keys.toml": ('[[steps]]\nop = "to_gray"\nop = "resize"\n',
                            r"not valid TOML \(Cannot overwrite a value"),
    "latin1.json": ('{"steps": [{"op": "to_gray", "name": "caf\xe9"}]}'.encode("latin-1"),
                    r"not valid JSON: it is not UTF-8 text \(invalid continuation byte at "
                    r"byte 41\)"),
    "utf16.json": (_steps({"op": "to_gray"}).encode("utf-16"), r"it is not UTF-8 text"),
    "bom.json": (b"\xef\xbb\xbf" + _steps({"op": "to_gray"}).encode(),
                 r"not valid JSON: the file starts with a UTF-8 byte-order mark"),
    "bom.toml": (b'\xef\xbb\xbf[[steps]]\nop = "to_gray"\n', r"byte-order mark"),
    "surrogate.json": ('{"steps": [{"op": "to_gray", "name": "\\ud800"}]}',
                       r"steps\[0\]\['name'\]: '\\ud800' holds an unpaired surrogate"),
    "empty.json": ("", r"not valid JSON \(Expecting value"),
    "empty.toml": ("", r"'steps' must be a non-empty list, got None"),
    "top_list.json": ("[]", r"the top level must be a table/object with 'steps', got \[\]"),
    "top_number.json": ("3", r"the top level must be a table/object with 'steps', got 3"),
    "top_null.json": ("null", r"the top level must be .*got None"),
    "top_string.json": ('"steps"', r"the top level must be .*got 'steps'"),
    "steps_object.json": ('{"steps": {"op": "to_gray"}}', r"'steps' must be a non-empty list, "
                                                          r"got dict"),
    "steps_string.json": ('{"steps": "to_gray"}', r"'steps' must be a non-empty list"),
    "step_null.json": ('{"steps": [null]}', r"steps\[0\] must be a table/object with 'op'"),
    "step_list.json": ('{"steps": [[1]]}', r"steps\[0\] must be a table/object with 'op'"),
    "op_number.json": ('{"steps": [{"op": 1}]}', r"'op' must be a string naming a registered"),
    "op_object.json": ('{"steps": [{"op": {"a": 1}}]}', r"'op' must be a string naming"),
    "op_list.json": ('{"steps": [{"op": ["to_gray"]}]}', r"'op' must be a string naming"),
    "name_number.json": ('{"steps": [{"op": "to_gray", "name": 5}]}',
                         r"'name' must be a non-empty string"),
    "params_list.json": ('{"steps": [{"op": "to_gray", "params": [1]}]}',
                         r"'params' must be a table/object, got \[1\]"),
    "params_null.json": ('{"steps": [{"op": "to_gray", "params": null}]}',
                         r"'params' must be a table/object, got None"),
    "param_object.json": (_OP.format('{"a": 1}'), r"parameter 'sigma' must be float, got dict"),
    "param_list.json": (_OP.format("[1]"), r"parameter 'sigma' must be float, got \[1\]"),
    "param_bool.json": (_OP.format("true"), r"parameter 'sigma' must be float, got True"),
    "param_string.json": (_OP.format('"1"'), r"parameter 'sigma' must be float, got '1'"),
    "matrix_strings.json": (_WARP.format(_H.format('"a"')), r"'H' must be a numeric"),
    "matrix_ragged.json": (_WARP.format("[[1, 0], [0, 1, 0], [0]]"), r"'H' must be a numeric"),
    "format_list.json": ('{"format": [1], "steps": [{"op": "to_gray"}]}',
                         r"format must be 'cvgeo-pipeline', got \[1\]"),
    "version_float.json": ('{"version": 1.0, "steps": [{"op": "to_gray"}]}',
                           r"version must be 1, got 1.0"),
    "version_date.toml": ('version = 1979-05-27\n[[steps]]\nop = "to_gray"\n',
                          r"version must be 1, got date"),
    "param_date.toml": (_TOML_SIGMA.format("1979-05-27T07:32:00Z"),
                        r"parameter 'sigma' must be float, got datetime"),
    "steps_mixed.toml": ('steps = [1, "a"]\n', r"steps\[0\] must be a table/object"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_file_is_one_line_pipeline_file_error(tmp_path, name):
    text, match = HOSTILE_FILES[name]
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert path.stat().st_size <= 1 << 20  # each is within the size limit: refused for content
    with pytest.raises(PipelineFileError) as info:
        load_pipeline(path)
    message = str(info.value)
    assert message.startswith(f"load_pipeline: {str(path)!r}: ")
    assert re.search(match, message), message
    assert "\n" not in message and len(message) <= 600
    message.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogates


def test_hostile_file_limits_keep_real_files_loading(tmp_path):
    """Just inside every limit still loads: the limits are not tighter than they say."""
    from cvgeo import pipeline as pm

    steps = [{"op": "to_gray", "name": f"s{i}"} for i in range(pm.MAX_FILE_STEPS - 1)]
    steps.append({"op": "warp", "name": "w" * pm.MAX_FILE_STRING,
                  "params": {"H": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "output_shape": [4, 4],
                             "fill": 1e300}})
    pipe = load_pipeline(_write(tmp_path, "ok.json", _steps(*steps)))
    assert len(pipe) == pm.MAX_FILE_STEPS
    assert pipe["w" * pm.MAX_FILE_STRING].params["fill"] == 1e300
    seed = load_pipeline(_write(tmp_path, "seed.json", _steps(
        {"op": "kmeans_segment", "params": {"n_clusters": 2, "seed": pm.MAX_FILE_INT}})))
    assert seed["kmeans_segment"].params["seed"] == 2**64 - 1
    with pytest.raises(PipelineFileError, match="an integer of 20 digits"):
        load_pipeline(_write(tmp_path, "seed2.json", _steps(
            {"op": "kmeans_segment", "params": {"n_clusters": 2, "seed": pm.MAX_FILE_INT + 1}})))
    deep = Pipeline.from_dict({"steps": [{"op": "to_gray", "params": {}}]})
    assert len(deep) == 1
    nested: dict = {}
    cur = nested
    for _ in range(10_000):  # a dict handed in from Python: checked without recursion
        cur["a"] = {}
        cur = cur["a"]
    with pytest.raises(PipelineFileError, match="nesting deeper than 16 levels"):
        Pipeline.from_dict({"steps": [{"op": "to_gray", "params": nested}]})


def test_pipeline_path_that_is_not_a_regular_file(tmp_path):
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(PipelineFileError, match=r"not a regular file \(a folder\)"):
        load_pipeline(tmp_path / "dir.json")
    os.mkfifo(tmp_path / "fifo.json")  # never opened: opening a FIFO would block
    with pytest.raises(PipelineFileError, match=r"not a regular file \(a FIFO\)"):
        load_pipeline(tmp_path / "fifo.json")
    (tmp_path / "loop.json").symlink_to("loop.json")
    with pytest.raises(PipelineFileError, match="cannot open it: Too many levels of symbolic"):
        load_pipeline(tmp_path / "loop.json")
    (tmp_path / "dangling.json").symlink_to("nowhere.json")
    with pytest.raises(FileNotFoundError, match="load_pipeline: no such file"):
        load_pipeline(tmp_path / "dangling.json")


@pytest.mark.parametrize("name", ["nested.json", "nested.toml", "int_4000_digits.json",
                                  "int_4000_digits.toml", "nan.json", "surrogate.json"])
def test_cli_hostile_pipeline_file_exits_2_with_one_line(tmp_path, capsys, name):
    from cvgeo.cli import main

    text, match = HOSTILE_FILES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    (tmp_path / "in").mkdir()
    cvgeo.write_image(tmp_path / "in" / "a.png", np.zeros((4, 4), np.uint8))
    rc = main(["run", str(path), str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: load_pipeline: ")
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()


def test_saved_pipeline_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        p = save_pipeline(make_pipeline("to_gray"), tmp_path / "p.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600


def test_toml_hand_written(tmp_path, img):
    path = _write(tmp_path, "p.toml", """
# grey, then shrink
[[steps]]
op = "to_gray"

[[steps]]
name = "small"
op = "resize"
params = { output_shape = [16, 20], interpolation = "area" }
""")
    p = load_pipeline(path)
    assert [n for n, _ in p.steps] == ["to_gray", "small"]
    np.testing.assert_array_equal(p(img), gray_resize()(img))


# ---------------------------------------------------------------- display
def test_to_display():
    b = np.array([[True, False]])
    np.testing.assert_array_equal(to_display(b), [[255, 0]])
    f = np.array([[-1.0, 0.0, 3.0]], np.float32)
    np.testing.assert_allclose(to_display(f), [[0.0, 0.25, 1.0]])
    u = np.array([[0.2, 0.7]], np.float32)
    assert to_display(u) is u
    labels = np.array([[0, 0, 5], [7, 5, 0]], np.int32)
    rgb = to_display(labels)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 0] == rgb[1, 2]).all() and (rgb[0, 2] == rgb[1, 1]).all()
    assert len({tuple(rgb[0, 0]), tuple(rgb[0, 2]), tuple(rgb[1, 0])}) == 3
    with pytest.raises(TypeError, match="register an output adaptor"):
        to_display(ThresholdResult(b, 0.5))
    with pytest.raises(ValueError, match="must be finite"):
        to_display(np.array([[np.nan, 1.0]]))


# ------------------------------------------------------- with real algorithms
def edge_pipeline() -> Pipeline:
    return make_pipeline(cvgeo.to_gray, Step("canny", sigma=1.0))


def test_canny_pipeline_set_params_changes_result_as_expected(camera):
    image = camera[128:256, 128:320]
    p = edge_pipeline()
    fine = p(image)
    np.testing.assert_array_equal(fine, cvgeo.canny(cvgeo.to_gray(image), sigma=1.0))
    p.set_params("canny__sigma", 3.0)
    coarse = p(image)
    np.testing.assert_array_equal(coarse, cvgeo.canny(cvgeo.to_gray(image), sigma=3.0))
    assert coarse.dtype == np.bool_ and fine.shape == coarse.shape
    # more smoothing, fewer edges (on this crop 1412 vs 3133 edge pixels)
    assert coarse.sum() < 0.6 * fine.sum()
    p.set_params(canny__high_threshold=0.9, canny__low_threshold=0.8)
    assert p(image).sum() < coarse.sum()


@pytest.mark.parametrize("ext", [".json", ".toml"])
def test_canny_pipeline_saved_loaded_rerun_identical(tmp_path, camera, ext):
    image = camera[::4, ::4]
    p = make_pipeline(cvgeo.to_gray, Step("gaussian_filter", sigma=0.5),
                      Step("canny", sigma=2.0, low_threshold=0.05, high_threshold=0.15))
    q = load_pipeline(save_pipeline(p, tmp_path / f"edges{ext}"))
    assert q["canny"].get_params() == {"sigma": 2.0, "low_threshold": 0.05,
                                       "high_threshold": 0.15, "use_quantiles": False,
                                       "mask": None, "border": "reflect", "cval": 0.0}
    a, b = p(image), q(image)
    assert a.dtype == b.dtype == np.bool_ and a.any()
    np.testing.assert_array_equal(a, b)


def test_sobel_step_hands_on_the_magnitude(camera):
    image = camera[:64, :64]
    t = make_pipeline(cvgeo.to_gray, "sobel").trace(image)
    assert isinstance(t["sobel"].raw, cvgeo.Gradient)
    np.testing.assert_array_equal(t.output, cvgeo.sobel(cvgeo.to_gray(image)).magnitude)


def test_canny_file_type_errors(tmp_path):
    for params, match in [
        ({"sigma": "3"}, r"steps\[1\] \(canny\): parameter 'sigma' must be float, got '3'"),
        ({"use_quantiles": "yes"}, r"'use_quantiles' must be bool, got 'yes'"),
        ({"mask": "all"}, r"'mask' must be a numeric \(nested\) list or null, got 'all'"),
        ({"mask": [[1, 0], [1]]}, r"'mask' must be a numeric \(nested\) list or null"),
        ({"mask": [[1, "a"]]}, r"'mask' must be a numeric \(nested\) list or null"),
    ]:
        path = _write(tmp_path, "e.json", _steps({"op": "to_gray"},
                                                 {"op": "canny", "params": params}))
        with pytest.raises(PipelineFileError, match=match):
            load_pipeline(path)


@pytest.mark.parametrize("ext", [".json", ".toml"])
def test_small_array_parameter_round_trips_as_nested_lists(tmp_path, camera, ext):
    image = camera[200:248, 200:264]
    mask = np.zeros((48, 64), bool)
    mask[8:40, 8:56] = True
    p = make_pipeline(cvgeo.to_gray, Step("canny", sigma=1.5, mask=mask))
    q = load_pipeline(save_pipeline(p, tmp_path / f"m{ext}"))
    got = q["canny"].params["mask"]
    assert isinstance(got, np.ndarray) and got.dtype == np.bool_
    np.testing.assert_array_equal(got, mask)
    out = q(image)
    np.testing.assert_array_equal(out, p(image))
    assert out.any() and not out[~mask].any()


# ------------------------------------------------------------- adaptors
def two_regions(image: np.ndarray, *, level: float = 0.5) -> np.ndarray:
    """Test op: int32 labels 3 (bright) and 9 (dark)."""
    return np.where(cvgeo.to_gray(image) > level, 3, 9).astype(np.int32)


@dataclass(frozen=True)
class Votes:
    accumulator: np.ndarray


def vote_counts(image: np.ndarray, *, scale: int = 7) -> Votes:
    """Test op: an integer accumulator inside a result dataclass."""
    return Votes(cvgeo.to_uint8(cvgeo.to_gray(image)).astype(np.int32) * scale)


def test_label_adaptors(test_ops, img):
    register_op("regions", two_regions, output="cvgeo.ops:label_mean_colour")
    register_op("regions_coloured", two_regions, output="cvgeo.ops:label_colours")
    out = make_pipeline("regions")(img)
    bright = cvgeo.to_gray(img) > 0.5
    x = cvgeo.to_float(img)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[bright][0], x[bright].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(out[~bright][0], x[~bright].mean(axis=0), rtol=1e-5)
    assert len(np.unique(out.reshape(-1, 3), axis=0)) == 2
    col = make_pipeline("regions_coloured")(img)
    assert col.dtype == np.uint8 and len(np.unique(col.reshape(-1, 3), axis=0)) == 2
    np.testing.assert_array_equal(col, to_display(two_regions(img)))
    with pytest.raises(ValueError, match="label_mean_colour: labels must be integer of shape"):
        from cvgeo.ops import label_mean_colour

        label_mean_colour(np.zeros((3, 3), np.int32), img)


def test_chained_adaptor_field_then_stretch(test_ops, img):
    register_op("votes", vote_counts, output="accumulator|cvgeo.ops:stretch")
    register_op("votes_bad", vote_counts, output="nope")
    out = make_pipeline("votes")(img)
    acc = vote_counts(img).accumulator
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_allclose(out, (acc - acc.min()) / (acc.max() - acc.min()), atol=1e-6)
    with pytest.raises(TypeError, match="output adaptor of op 'votes_bad'.*no field 'nope'"):
        make_pipeline("votes_bad")(img)
