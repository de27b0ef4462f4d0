"""Pipelines: steps composed over the public functions; saved as and loaded from files.

A :class:`Step` is a parameter holder over one registered operation (see
:mod:`cvgeo.ops`), in the style of scikit-learn estimators: construction only stores
the parameters, ``get_params`` / ``set_params`` read and change them, ``clone`` copies
them, and *the function validates its parameters when the step runs* (a step never
re-validates what the function checks). A :class:`Pipeline` is a named sequence of
steps; nested parameters are addressed as ``"<step>__<param>"``.

A pipeline is saved as JSON or TOML naming registered ops and their parameters. Loading
parses the file (``json`` / ``tomllib``) and checks every op name, parameter name and
parameter type against the registered function's signature before anything runs; a
file is never executed and never unpickled.

Examples
--------
>>> import numpy as np, cvgeo
>>> pipe = make_pipeline(cvgeo.to_gray, Step("resize", output_shape=(4, 4)))
>>> [name for name, _ in pipe.steps]
['to_gray', 'resize']
>>> pipe.set_params("resize__interpolation", "nearest").get_params()["resize__interpolation"]
'nearest'
>>> pipe(np.zeros((8, 8, 3), np.uint8)).shape
(4, 4)

Learned steps
-------------
Any object with ``get_params``/``set_params`` can be a step. If it has ``predict`` the
pipeline calls ``predict(x)``, otherwise ``x = step(x)``; :meth:`Pipeline.fit` calls
``fit(x)`` on every step that has one, feeding each the output of the steps before it
(scikit-learn's order). Fitted state (``centers_``...) is not saved in files: a file
holds parameters only.
"""

from cvgeo.pipeline.coerce import (  # noqa: F401  (the file limits, importable from here)
    FILE_FORMAT,
    FILE_VERSION,
    MAX_FILE_ARRAY_SIZE,
    MAX_FILE_DEPTH,
    MAX_FILE_INT,
    MAX_FILE_STEPS,
    MAX_FILE_STRING,
    MAX_PIPELINE_FILE_BYTES,
    PipelineFileError,
)
from cvgeo.pipeline.core import Pipeline, Step, Trace, TraceStep, make_pipeline
from cvgeo.pipeline.files import load_pipeline, save_pipeline
from cvgeo.pipeline.registry import op_parameters, params_of  # noqa: F401

__all__ = [
    "Step",
    "Pipeline",
    "make_pipeline",
    "Trace",
    "TraceStep",
    "PipelineFileError",
    "save_pipeline",
    "load_pipeline",
    "op_parameters",
]

