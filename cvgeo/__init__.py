"""cvgeo: classical computer vision and multi-view geometry from first principles.

The public API is re-exported here, one block per module; ``__all__`` lists it and
``tests/test_api_surface.py`` guards it. ``cvgeo`` never imports ``torch`` or ``deep``
at module level.

The application around the library (``cvgeo.batch``: running a pipeline over folders;
``cvgeo.gallery``: the picture gallery; ``cvgeo.cli``: the ``cvgeo`` command) is imported
as a submodule, not star-exported here. Their names are still reachable as
``cvgeo.<name>`` for one release, with a ``DeprecationWarning`` naming the new home.
"""

from cvgeo import datasets as _datasets
from cvgeo import display as _display
from cvgeo import draw as _draw
from cvgeo import edges as _edges
from cvgeo import filters as _filters
from cvgeo import fourier as _fourier
from cvgeo import hough as _hough
from cvgeo import image as _image
from cvgeo import ops as _ops
from cvgeo import pipeline as _pipeline
from cvgeo import pyramids as _pyramids
from cvgeo import segment as _segment
from cvgeo import threads as _threads
from cvgeo._checks import DegenerateError as DegenerateError
from cvgeo.datasets import *  # noqa: F403
from cvgeo.display import *  # noqa: F403
from cvgeo.draw import *  # noqa: F403
from cvgeo.edges import *  # noqa: F403
from cvgeo.filters import *  # noqa: F403
from cvgeo.fourier import *  # noqa: F403
from cvgeo.geometry import homogeneous as _homogeneous
from cvgeo.geometry.boxes import *  # noqa: F403
from cvgeo.geometry.boxes import __all__ as _boxes_all
from cvgeo.geometry.camera import *  # noqa: F403
from cvgeo.geometry.camera import __all__ as _camera_all
from cvgeo.geometry.epipolar import *  # noqa: F403
from cvgeo.geometry.epipolar import __all__ as _epipolar_all
from cvgeo.geometry.essential import *  # noqa: F403
from cvgeo.geometry.essential import __all__ as _essential_all
from cvgeo.geometry.homogeneous import *  # noqa: F403
from cvgeo.geometry.homography import *  # noqa: F403
from cvgeo.geometry.homography import __all__ as _homography_all
from cvgeo.geometry.ransac import *  # noqa: F403
from cvgeo.geometry.ransac import __all__ as _ransac_all
from cvgeo.geometry.transforms import *  # noqa: F403
from cvgeo.geometry.transforms import __all__ as _transforms_all
from cvgeo.geometry.warp import *  # noqa: F403
from cvgeo.geometry.warp import __all__ as _warp_all
from cvgeo.hough import *  # noqa: F403
from cvgeo.image import *  # noqa: F403
from cvgeo.ops import *  # noqa: F403
from cvgeo.pipeline import *  # noqa: F403
from cvgeo.pyramids import *  # noqa: F403
from cvgeo.segment import *  # noqa: F403
from cvgeo.threads import *  # noqa: F403

__version__ = "0.1.0"

__all__ = sorted({
    "DegenerateError",
    *_image.__all__,
    *_filters.__all__,
    *_edges.__all__,
    *_hough.__all__,
    *_draw.__all__,
    *_fourier.__all__,
    *_pyramids.__all__,
    *_homogeneous.__all__,
    *_ransac_all,
    *_homography_all,
    *_transforms_all,
    *_warp_all,
    *_camera_all,
    *_datasets.__all__,
    *_epipolar_all,
    *_essential_all,
    *_boxes_all,
    *_ops.__all__,
    *_display.__all__,
    *_pipeline.__all__,
    *_segment.__all__,
    *_threads.__all__,
})

#: Names that left the top level, with the module that holds them now.
_MOVED = {
    "run_batch": "cvgeo.batch", "BatchResult": "cvgeo.batch", "BatchFailure": "cvgeo.batch",
    "build_gallery": "cvgeo.gallery", "GalleryResult": "cvgeo.gallery",
}
_SUBMODULES = ("batch", "gallery", "cli")


def __getattr__(name: str):
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"cvgeo.{name}")
    if name in _MOVED:
        import warnings

        warnings.warn(f"cvgeo.{name} is deprecated and will be removed in the next release; "
                      f"use {_MOVED[name]}.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'cvgeo' has no attribute {name!r}")
