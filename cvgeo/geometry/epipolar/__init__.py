"""Two-view geometry: fundamental and essential matrices, pose, triangulation, rectification.

Conventions
-----------
* Points are ``(N, 2)`` pixel coordinates ``(x, y)`` (x the column, y the row, origin at
  the centre of the top-left pixel). ``x1`` are in image 1, ``x2`` their matches in image 2.
* The fundamental matrix satisfies ``x2ᵀ F x1 = 0`` (homogeneous points). It is returned
  at unit Frobenius norm with a sign rule (the entry of largest magnitude is positive);
  it is never divided by ``F[2, 2]``, which is 0 for a rectified pair.
* ``F x1`` is the epipolar line of ``x1`` in image 2, ``Fᵀ x2`` that of ``x2`` in image 1.
  The epipoles are ``F e1 = 0`` (image 1) and ``Fᵀ e2 = 0`` (image 2).
* Cameras are ``P1 = K1 [I | 0]`` and ``P2 = K2 [R | t]``: a point ``X1`` in camera-1
  coordinates is ``X2 = R X1 + t`` in camera 2, and ``E = [t]x R``,
  ``F ~ K2⁻ᵀ E K1⁻¹``. From images alone ``t`` is known up to scale: it is returned with
  unit norm. ``det R = +1`` always.
* Distances are in pixels unless said otherwise; ``squared=True`` returns their squares.

The linear algebra (8-point, epipoles, lines, distances, essential matrix, DLT
triangulation) accepts numpy arrays or torch tensors, batched where it is natural, through
``array_api_compat``; the minimal solvers, robust estimation, the optimal correction and
rectification are numpy.

Modules
-------
``fundamental``
    The linear solvers (8-point, 7-point), the sign rule, ``skew`` and the conversions
    between F, E and a pose.
``lines``
    Epipoles, epipolar lines and epipolar distances (Sampson, symmetric, algebraic).
``pose``
    Decomposition of E, cheirality, triangulation and the optimal correction of matches.
``refinement``
    Sampson-error Levenberg–Marquardt of a pose and of F.
``robust``
    :func:`find_fundamental` (RANSAC, local optimisation, DEGENSAC, polish).
``rectification``
    Uncalibrated rectification.
``kernels``
    The numba kernels several of them share (8-point normal matrix, 7-point solver,
    Sampson distance and MSAC cost).

Every public name is importable from this package.
"""

from cvgeo.geometry.epipolar.fundamental import (
    essential_from_fundamental,
    fundamental_7point,
    fundamental_8point,
    fundamental_from_essential,
    fundamental_from_pose,
    normalize_fundamental,
    skew,
)
from cvgeo.geometry.epipolar.kernels import _seven_point_core  # noqa: F401 (_twoview_ransac)
from cvgeo.geometry.epipolar.lines import Epipoles, epipolar_distance, epipolar_lines, epipoles
from cvgeo.geometry.epipolar.pose import (
    CorrectedMatches,
    Pose,
    RecoveredPose,
    correct_matches,
    decompose_essential,
    recover_pose,
    triangulate_points,
)
from cvgeo.geometry.epipolar.rectification import Rectification, rectify_uncalibrated
from cvgeo.geometry.epipolar.refinement import refine_fundamental
from cvgeo.geometry.epipolar.robust import FundamentalResult, find_fundamental

__all__ = [
    "CorrectedMatches",
    "Epipoles",
    "FundamentalResult",
    "Pose",
    "RecoveredPose",
    "Rectification",
    "correct_matches",
    "decompose_essential",
    "epipolar_distance",
    "epipolar_lines",
    "epipoles",
    "essential_from_fundamental",
    "find_fundamental",
    "fundamental_7point",
    "fundamental_8point",
    "fundamental_from_essential",
    "fundamental_from_pose",
    "normalize_fundamental",
    "recover_pose",
    "rectify_uncalibrated",
    "refine_fundamental",
    "skew",
    "triangulate_points",
]
