"""Geometry: homogeneous coordinates, 2-D transforms, robust estimation, warping, boxes.

Note: the functions :func:`ransac` and :func:`warp` share their modules' names, so after
``import cvgeo.geometry`` the attributes ``cvgeo.geometry.ransac`` and
``cvgeo.geometry.warp`` are the functions; import from the modules
(``from cvgeo.geometry.ransac import required_trials``) for anything else.
"""

from cvgeo.geometry.boxes import *  # noqa: F403
from cvgeo.geometry.boxes import __all__ as _boxes_all
from cvgeo.geometry.camera import *  # noqa: F403
from cvgeo.geometry.camera import __all__ as _camera_all
from cvgeo.geometry.epipolar import *  # noqa: F403
from cvgeo.geometry.epipolar import __all__ as _epipolar_all
from cvgeo.geometry.essential import *  # noqa: F403
from cvgeo.geometry.essential import __all__ as _essential_all
from cvgeo.geometry.homogeneous import *  # noqa: F403
from cvgeo.geometry.homogeneous import __all__ as _homogeneous_all
from cvgeo.geometry.homography import *  # noqa: F403
from cvgeo.geometry.homography import __all__ as _homography_all
from cvgeo.geometry.ransac import *  # noqa: F403
from cvgeo.geometry.ransac import __all__ as _ransac_all
from cvgeo.geometry.transforms import *  # noqa: F403
from cvgeo.geometry.transforms import __all__ as _transforms_all
from cvgeo.geometry.warp import *  # noqa: F403
from cvgeo.geometry.warp import __all__ as _warp_all

#: the synthetic scene moved to :mod:`cvgeo.datasets` (which imports this package); its
#: names stay reachable here, loaded on first use
_DATASETS = ("TwoViewScene", "synthetic_two_view_scene")

__all__ = sorted({*_homogeneous_all, *_homography_all, *_ransac_all, *_transforms_all,
                  *_warp_all, *_camera_all, *_DATASETS, *_epipolar_all, *_essential_all,
                  *_boxes_all})


def __getattr__(name: str):
    if name in _DATASETS:
        from cvgeo import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
