"""The 2-D transform hierarchy: Translation, Euclidean, Similarity, Affine, Projective.

Conventions
-----------
A transform is a 3x3 float64 matrix acting on column vectors ``(x, y, 1)``: it maps
source points ``(x, y)`` to destination points, ``dst ~ M @ src``. x is the column, y the
row, origin at the centre of the top-left pixel. ``a @ b`` is the transform that applies
``b`` first, then ``a`` (the matrix product). A projective matrix is defined up to scale;
cvgeo stores it with unit Frobenius norm and a sign rule (``h33 > 0``, or when ``h33`` is
~0 the first sizeable entry positive), never divided by ``h33``, which may be zero.

Estimation (``Cls.estimate(src, dst)``) is exact from the minimal set of points (1, 2,
2, 3, 4) and least squares beyond it. The linear algebra is written once against the
array API (``array_api_compat``): numpy arrays or torch tensors, with any leading batch
dimensions ``(..., N, 2)``, and autograd flows from the matrix back to the points. The
``.matrix`` of an estimated transform then has shape ``(..., 3, 3)`` and the input's
array type.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from cvgeo._checks import DegenerateError, check_points_xp, check_real, describe
from cvgeo.geometry._common import _homography_sign as _sign_rule
from cvgeo.geometry.homogeneous import from_homogeneous, hartley_normalize, to_homogeneous

__all__ = [
    "Affine",
    "Euclidean",
    "Projective",
    "Similarity",
    "Translation",
    "rotation_shears",
]

#: relative tolerance below which a configuration is declared degenerate.
_DEGENERATE_TOL = 1e-10


# ----------------------------------------------------------------------------- helpers
def _namespace(a: Any):
    from array_api_compat import array_namespace

    return array_namespace(a)


def _to_numpy(a: Any) -> np.ndarray:
    """A float64 numpy copy/view of a numpy array or (detached) torch tensor."""
    if isinstance(a, (np.ndarray, np.generic, float, int)):
        return np.asarray(a, dtype=np.float64)
    return a.detach().cpu().double().numpy()


def _check_matrix_xp(M: Any, func: str) -> Any:
    from array_api_compat import is_numpy_array, is_torch_array

    if not (is_numpy_array(M) or is_torch_array(M)):
        raise TypeError(f"{func}: matrix must be a numpy array or torch tensor of shape "
                        f"(..., 3, 3), got {describe(M)}")
    if tuple(M.shape[-2:]) != (3, 3):
        raise ValueError(f"{func}: matrix must have shape (..., 3, 3), got shape "
                         f"{tuple(M.shape)}")
    if is_numpy_array(M):
        if M.dtype.kind not in "uif":
            raise TypeError(f"{func}: matrix must be numeric, got dtype {M.dtype}")
        M = M.astype(np.float64)
    elif not M.is_floating_point():
        M = M.double()
    if not np.isfinite(_to_numpy(M)).all():
        raise ValueError(f"{func}: matrix must be finite, got NaN or inf values")
    return M


def _distinct_count(points: np.ndarray, at_most: int) -> np.ndarray:
    """``min(distinct points, at_most)`` per batch element, O(at_most * N).

    Points closer than 1e-10 of the coordinates' magnitude count as coincident.
    """
    flat = points.reshape((-1,) + points.shape[-2:])
    out = np.empty(flat.shape[0], dtype=np.int64)
    for b, p in enumerate(flat):
        tol = max(float(np.abs(p).max()), 1.0) * _DEGENERATE_TOL
        fresh = np.ones(p.shape[0], dtype=bool)
        k, ref = 0, p[0]
        while k < at_most:
            k += 1
            fresh &= np.abs(p - ref).max(axis=1) > tol
            if not fresh.any():
                break
            ref = p[int(np.argmax(fresh))]
        out[b] = k
    return out


def _collinear(points: np.ndarray) -> np.ndarray:
    """Whether each batch element's points lie on one line (rank-1 scatter)."""
    c = points - points.mean(axis=-2, keepdims=True)
    cov = np.einsum("...ni,...nj->...ij", c, c)
    ev = np.linalg.eigvalsh(cov)  # ascending
    return ev[..., 0] <= (_DEGENERATE_TOL**2) * 1e4 * np.maximum(ev[..., 1], 1e-300)


def _collinear_triple(points: np.ndarray) -> tuple[int, int, int] | None:
    """For 4 points ``(..., 4, 2)``: the first collinear triple of any batch element."""
    flat = points.reshape((-1, 4, 2))
    for p in flat:
        scale = max(float(np.ptp(p, axis=0).max()), 1e-300) ** 2
        for tri in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)):
            a, b, c = p[list(tri)]
            area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
            if abs(area) <= 1e-9 * scale:
                return tri
    return None


def _check_correspondences(cls, src: Any, dst: Any, func: str | None = None):
    """Validate ``src``/``dst`` and raise :class:`DegenerateError` with the reason."""
    func = func or f"{cls.__name__}.estimate"
    m = cls.min_points
    src, xp = check_points_xp(src, func, "src", min_count=m)
    dst, xp_d = check_points_xp(dst, func, "dst", min_count=m)
    if xp is not xp_d:
        raise TypeError(f"{func}: src and dst must both be numpy arrays or both torch tensors, "
                        f"got {describe(src)} and {describe(dst)}")
    if tuple(src.shape) != tuple(dst.shape):
        raise ValueError(f"{func}: src and dst must have the same shape, got "
                         f"{tuple(src.shape)} and {tuple(dst.shape)}")
    if hasattr(src, "dtype") and hasattr(dst, "dtype") and src.dtype != dst.dtype:
        dst = xp.astype(dst, src.dtype)
    s_np, d_np = _to_numpy(src), _to_numpy(dst)
    for name, p in (("src", s_np), ("dst", d_np)):
        if m > 1:
            k = int(_distinct_count(p, m).min())
            if k < m:
                raise DegenerateError(
                    f"{func}: {name} must hold at least {m} distinct points, got coincident "
                    f"points (only {k} distinct among {p.shape[-2]})")
        if cls.needs_non_collinear and bool(_collinear(p).any()):
            raise DegenerateError(
                f"{func}: {name} points must not all be collinear, got all "
                f"{p.shape[-2]} points on one line (a {cls.__name__.lower()} transform is "
                f"not determined by points on a line)")
        if cls is Projective and p.shape[-2] == 4:
            tri = _collinear_triple(p)
            if tri is not None:
                raise DegenerateError(
                    f"{func}: no three of the 4 {name} points may be collinear, got points "
                    f"{tri} on one line (a homography needs 4 points in general position)")
    return src, dst, xp


def _build_affine(A: Any, t: Any, xp) -> Any:
    """``(..., 2, 2)`` and ``(..., 2)`` -> ``(..., 3, 3)`` with last row ``[0, 0, 1]``."""
    top = xp.concat([A, t[..., None]], axis=-1)  # (..., 2, 3)
    bottom = xp.zeros_like(top[..., :1, :])
    one = xp.ones_like(bottom[..., 2:])
    bottom = xp.concat([bottom[..., :2], one], axis=-1)
    return xp.concat([top, bottom], axis=-2)


# -------------------------------------------------------------------- estimation cores
def _translation_pair(value: Any, func: str) -> tuple[float, float]:
    """Validate a ``(tx, ty)`` pair of finite numbers."""
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise TypeError(f"{func}: translation must be a pair (tx, ty) of numbers, got "
                        f"{describe(value)}")
    return (check_real(value[0], func, "translation[0]"),
            check_real(value[1], func, "translation[1]"))


def _estimate_translation(src, dst, xp):
    t = xp.mean(dst - src, axis=-2)  # (..., 2)
    eye = xp.asarray(np.eye(2), dtype=src.dtype, device=getattr(src, "device", None))
    return _build_affine(eye * xp.ones_like(t)[..., None], t, xp)


def _estimate_similarity(src, dst, xp, *, scale: bool, func: str):
    """Umeyama (1991) in closed form for 2-D: rotation angle and scale from two sums.

    With centred points ``p`` (src) and ``q`` (dst), the least-squares similarity
    ``q ~ c R p`` has ``c R = [[a, -b], [b, a]] / sum|p|^2`` where
    ``a = sum(p . q)`` and ``b = sum(p x q)``; the Euclidean case keeps ``R`` only.
    """
    mu_s = xp.mean(src, axis=-2, keepdims=True)
    mu_d = xp.mean(dst, axis=-2, keepdims=True)
    p = src - mu_s
    q = dst - mu_d
    a = xp.sum(p[..., 0] * q[..., 0] + p[..., 1] * q[..., 1], axis=-1)
    b = xp.sum(p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0], axis=-1)
    norm = xp.sqrt(a * a + b * b)
    ref = math.sqrt(float(_to_numpy(xp.max(xp.sum(q * q, axis=(-2, -1)))))
                    * float(_to_numpy(xp.max(xp.sum(p * p, axis=(-2, -1))))))
    if bool(np.any(_to_numpy(norm) <= _DEGENERATE_TOL * max(ref, 1e-300))):
        raise DegenerateError(f"{func}: the rotation is not determined, got src and dst "
                              f"point sets with no common orientation (a + ib = 0)")
    denom = xp.sum(p * p, axis=(-2, -1)) if scale else norm
    ca = a / denom
    cb = b / denom
    A = xp.stack([xp.stack([ca, -cb], axis=-1), xp.stack([cb, ca], axis=-1)], axis=-2)
    t = mu_d[..., 0, :] - xp.sum(A * mu_s, axis=-1)  # mu_d - A @ mu_s
    return _build_affine(A, t, xp)


def _estimate_affine(src, dst, xp):
    """Least squares ``dst = A src + t``: ``A^T = pinv(P) Q`` on centred points ``P, Q``.

    The pseudo-inverse comes from the thin SVD of ``P`` (N x 2) rather than the normal
    equations, so accuracy degrades with cond(P), not cond(P)^2.
    """
    mu_s = xp.mean(src, axis=-2, keepdims=True)
    mu_d = xp.mean(dst, axis=-2, keepdims=True)
    p = src - mu_s
    q = dst - mu_d
    U, S, Vh = xp.linalg.svd(p, full_matrices=False)  # (..., N, 2), (..., 2), (..., 2, 2)
    At = xp.matrix_transpose(Vh) @ ((xp.matrix_transpose(U) @ q) / S[..., :, None])
    A = xp.matrix_transpose(At)
    t = mu_d[..., 0, :] - xp.sum(A * mu_s, axis=-1)
    return _build_affine(A, t, xp)


def _dlt(src, dst, xp, *, func: str):
    """Normalised DLT (Hartley & Zisserman alg. 4.2): SVD null vector of ``A h = 0``."""
    ns = hartley_normalize(src)
    nd = hartley_normalize(dst)
    x, y = ns.points[..., 0], ns.points[..., 1]
    u, v = nd.points[..., 0], nd.points[..., 1]
    z = xp.zeros_like(x)
    o = xp.ones_like(x)
    r1 = xp.stack([-x, -y, -o, z, z, z, u * x, u * y, u], axis=-1)  # (..., N, 9)
    r2 = xp.stack([z, z, z, -x, -y, -o, v * x, v * y, v], axis=-1)
    A = xp.concat([r1, r2], axis=-2)  # (..., 2N, 9)
    if A.shape[-2] < 9:  # minimal case: a zero row keeps the null vector in thin SVD
        A = xp.concat([A, xp.zeros_like(A[..., :1, :])], axis=-2)
    _, S, Vh = xp.linalg.svd(A, full_matrices=False)
    s_np = _to_numpy(S)
    if bool(np.any(s_np[..., 7] <= _DEGENERATE_TOL * s_np[..., 0])):
        raise DegenerateError(f"{func}: the homography is not determined, got a degenerate "
                              f"configuration (the DLT system has rank < 8, e.g. all but one "
                              f"point on a line)")
    Hn = xp.reshape(Vh[..., 8, :], Vh.shape[:-2] + (3, 3))
    H = xp.linalg.inv(nd.T) @ Hn @ ns.T
    return _sign_rule(H, xp)


# --------------------------------------------------------------------------- classes
class _Transform:
    """Common behaviour of the five transform classes (not public)."""

    dof: ClassVar[int]
    min_points: ClassVar[int]
    needs_non_collinear: ClassVar[bool] = False
    _level: ClassVar[int]

    __slots__ = ("_matrix",)

    def __init__(self, matrix: Any = None) -> None:
        if matrix is None:
            matrix = np.eye(3)
        M = _check_matrix_xp(matrix, type(self).__name__)
        self._check_structure(_to_numpy(M))
        self._matrix = self._canonical(M)

    @classmethod
    def _from_matrix(cls, M: Any) -> _Transform:
        obj = cls.__new__(cls)
        obj._matrix = cls._canonical(M)
        return obj

    @classmethod
    def _canonical(cls, M: Any) -> Any:
        return M

    @classmethod
    def _check_structure(cls, M: np.ndarray) -> None:
        scale = max(float(np.abs(M).max()), 1e-300)
        if np.abs(M[..., 2, :2]).max() > 1e-12 * scale or np.any(
                np.abs(M[..., 2, 2] - 1.0) > 1e-12):
            raise ValueError(f"{cls.__name__}: matrix must have last row [0, 0, 1], got "
                             f"{M[..., 2, :].tolist()}")

    @property
    def matrix(self) -> Any:
        """The ``(3, 3)`` (or ``(..., 3, 3)``) float64 matrix mapping src to dst."""
        return self._matrix

    def __call__(self, points: Any) -> Any:
        """Map ``(..., N, 2)`` points (numpy or torch); same as :meth:`apply`."""
        return self.apply(points)

    def apply(self, points: Any) -> Any:
        """Map ``(..., N, 2)`` source points to destination points.

        Raises
        ------
        DegenerateError
            (Projective only) a point maps to infinity.
        """
        x, xp = check_points_xp(points, f"{type(self).__name__}.apply")
        M = self._matrix
        if _namespace(M) is not xp:
            M = xp.asarray(_to_numpy(M), dtype=x.dtype)
        elif M.dtype != x.dtype:
            M = xp.astype(M, x.dtype)
        h = to_homogeneous(x) @ xp.matrix_transpose(M)
        if self._level < Projective._level:
            return h[..., :2]
        return from_homogeneous(h)

    def __matmul__(self, other: Any) -> _Transform:
        if not isinstance(other, _Transform):
            return NotImplemented
        cls = type(self) if self._level >= other._level else type(other)
        return cls._from_matrix(self._matrix @ other._matrix)

    def inverse(self) -> _Transform:
        """The transform mapping dst back to src, of the same class.

        Raises
        ------
        DegenerateError
            The matrix is singular.
        """
        M = self._matrix
        M_np = _to_numpy(M)
        scale = max(float(np.abs(M_np).max()), 1e-300)
        if np.any(np.abs(np.linalg.det(M_np / scale)) < 1e-14):
            raise DegenerateError(f"{type(self).__name__}.inverse: matrix must be invertible, "
                                  f"got a singular matrix")
        xp = _namespace(M)
        inv = xp.linalg.inv(M)
        if self._level < Projective._level:  # keep the last row exactly [0, 0, 1]
            inv = _build_affine(inv[..., :2, :2], inv[..., :2, 2], xp)
        return type(self)._from_matrix(inv)

    def __repr__(self) -> str:
        M = self._matrix
        body = np.array2string(_to_numpy(M), precision=6, separator=", ")
        return f"{type(self).__name__}(matrix={body})"

    @classmethod
    def estimate(cls, src: Any, dst: Any) -> _Transform:
        """Estimate the transform mapping ``src`` to ``dst``.

        Exact from the minimal number of points (``min_points``), least squares beyond.

        Parameters
        ----------
        src, dst : array of shape (..., N, 2)
            Corresponding points, both numpy arrays or both torch tensors.

        Returns
        -------
        transform of this class
            Its ``.matrix`` has shape ``(..., 3, 3)``, the input's type; torch keeps
            autograd.

        Raises
        ------
        DegenerateError
            Too few points, coincident points, collinear points (affine and projective),
            or a configuration that does not determine the transform; the message says
            which.
        ValueError, TypeError
            Non-finite or badly shaped points.
        """
        src, dst, xp = _check_correspondences(cls, src, dst)
        return cls._from_matrix(cls._estimate(src, dst, xp))


class Translation(_Transform):
    """Translation, 2 degrees of freedom: ``(x, y) -> (x + tx, y + ty)``.

    Parameters
    ----------
    matrix : array of shape (3, 3), optional
        ``[[1, 0, tx], [0, 1, ty], [0, 0, 1]]``; or give ``translation``.
    translation : (float, float)
        ``(tx, ty)`` in pixels.

    Examples
    --------
    >>> import numpy as np
    >>> Translation(translation=(2.0, -1.0))(np.array([[1.0, 1.0]]))
    array([[3., 0.]])
    """

    dof = 2
    min_points = 1
    _level = 0

    def __init__(self, matrix: Any = None, *, translation: tuple[float, float] | None = None):
        if translation is not None:
            if matrix is not None:
                raise ValueError("Translation: give matrix or translation, got both")
            tx, ty = _translation_pair(translation, "Translation")
            matrix = np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])
        super().__init__(matrix)

    @classmethod
    def _check_structure(cls, M):
        super()._check_structure(M)
        if np.abs(M[..., :2, :2] - np.eye(2)).max() > 1e-12:
            raise ValueError("Translation: matrix must have the identity as its upper-left "
                             f"2x2 block, got {M[..., :2, :2].tolist()}")

    @property
    def translation(self) -> Any:
        """``(..., 2)``: ``(tx, ty)``."""
        return self._matrix[..., :2, 2]

    @staticmethod
    def _estimate(src, dst, xp):
        return _estimate_translation(src, dst, xp)


class Euclidean(_Transform):
    """Rotation and translation (rigid), 3 degrees of freedom.

    ``(x, y) -> R(rotation) (x, y) + translation`` with
    ``R = [[cos, -sin], [sin, cos]]`` (radians; with y pointing down a positive angle
    turns clockwise on screen). Least squares is Umeyama's (1991) closed form.

    Parameters
    ----------
    matrix : array of shape (3, 3), optional
    rotation : float
        Radians.
    translation : (float, float)
        Pixels.

    Examples
    --------
    >>> import numpy as np
    >>> t = Euclidean(rotation=np.pi / 2)
    >>> np.round(t(np.array([[1.0, 0.0]])), 12)
    array([[0., 1.]])
    """

    dof = 3
    min_points = 2
    _level = 1

    def __init__(self, matrix: Any = None, *, rotation: float | None = None,
                 translation: tuple[float, float] | None = None):
        if rotation is not None or translation is not None:
            if matrix is not None:
                raise ValueError(f"{type(self).__name__}: give matrix or parameters, got both")
            matrix = self._params_matrix(rotation=rotation, translation=translation)
        super().__init__(matrix)

    @classmethod
    def _params_matrix(cls, *, scale=None, rotation=None, translation=None) -> np.ndarray:
        name = cls.__name__
        s = 1.0 if scale is None else check_real(scale, name, "scale", low=0.0,
                                                 low_inclusive=False)
        a = 0.0 if rotation is None else check_real(rotation, name, "rotation")
        tx, ty = (0.0, 0.0) if translation is None else _translation_pair(translation, name)
        c, sn = s * math.cos(a), s * math.sin(a)
        return np.array([[c, -sn, tx], [sn, c, ty], [0.0, 0.0, 1.0]])

    @classmethod
    def _check_structure(cls, M):
        super()._check_structure(M)
        A = M[..., :2, :2]
        if np.abs(A[..., 0, 0] - A[..., 1, 1]).max() > 1e-9 * max(np.abs(A).max(), 1.0) or \
                np.abs(A[..., 0, 1] + A[..., 1, 0]).max() > 1e-9 * max(np.abs(A).max(), 1.0):
            raise ValueError(f"{cls.__name__}: matrix must have an upper-left block "
                             f"[[a, -b], [b, a]], got {A.tolist()}")
        s2 = A[..., 0, 0] ** 2 + A[..., 1, 0] ** 2
        if cls is Euclidean and np.abs(s2 - 1.0).max() > 1e-9:
            raise ValueError(f"Euclidean: matrix must have a rotation (orthonormal) upper-left "
                             f"block, got scale {np.sqrt(s2).tolist()}")
        if np.any(s2 == 0):
            raise ValueError(f"{cls.__name__}: matrix must be invertible, got scale 0")

    @property
    def rotation(self) -> Any:
        """Rotation angle in radians, ``(...)``."""
        xp = _namespace(self._matrix)
        return xp.atan2(self._matrix[..., 1, 0], self._matrix[..., 0, 0])

    @property
    def translation(self) -> Any:
        """``(..., 2)``: ``(tx, ty)``."""
        return self._matrix[..., :2, 2]

    @staticmethod
    def _estimate(src, dst, xp):
        return _estimate_similarity(src, dst, xp, scale=False, func="Euclidean.estimate")


class Similarity(Euclidean):
    """Uniform scale, rotation and translation, 4 degrees of freedom.

    ``(x, y) -> scale * R(rotation) (x, y) + translation``; least squares is Umeyama's
    (1991) closed form, which in 2-D is linear.

    Parameters
    ----------
    matrix : array of shape (3, 3), optional
    scale : float
        > 0.
    rotation : float
        Radians.
    translation : (float, float)
        Pixels.

    References
    ----------
    S. Umeyama, "Least-squares estimation of transformation parameters between two point
    patterns", IEEE TPAMI 13(4), 1991. doi:10.1109/34.88573

    Examples
    --------
    >>> import numpy as np
    >>> src = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> t = Similarity.estimate(src, 2 * src + 1)
    >>> float(t.scale)
    2.0
    """

    dof = 4
    min_points = 2
    _level = 2

    def __init__(self, matrix: Any = None, *, scale: float | None = None,
                 rotation: float | None = None, translation: tuple[float, float] | None = None):
        if scale is not None or rotation is not None or translation is not None:
            if matrix is not None:
                raise ValueError("Similarity: give matrix or parameters, got both")
            matrix = self._params_matrix(scale=scale, rotation=rotation,
                                         translation=translation)
        _Transform.__init__(self, matrix)

    @property
    def scale(self) -> Any:
        """The scale factor, ``(...)``."""
        xp = _namespace(self._matrix)
        return xp.sqrt(self._matrix[..., 0, 0] ** 2 + self._matrix[..., 1, 0] ** 2)

    @staticmethod
    def _estimate(src, dst, xp):
        return _estimate_similarity(src, dst, xp, scale=True, func="Similarity.estimate")


class Affine(_Transform):
    """General affine map, 6 degrees of freedom: ``(x, y) -> A (x, y) + t``.

    Parameters
    ----------
    matrix : array of shape (3, 3), optional
        Last row ``[0, 0, 1]``; identity by default.

    Examples
    --------
    >>> import numpy as np
    >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> dst = np.array([[1.0, 1.0], [3.0, 1.0], [1.5, 2.0]])
    >>> np.round(Affine.estimate(src, dst).matrix, 12) + 0.0
    array([[2. , 0.5, 1. ],
           [0. , 1. , 1. ],
           [0. , 0. , 1. ]])
    """

    dof = 6
    min_points = 3
    needs_non_collinear = True
    _level = 3

    @staticmethod
    def _estimate(src, dst, xp):
        return _estimate_affine(src, dst, xp)


class Projective(_Transform):
    """Homography (projective map), 8 degrees of freedom: ``dst ~ H @ (x, y, 1)``.

    Estimated by the normalised DLT (Hartley normalisation of both point sets, null
    vector of the ``2N x 9`` system by SVD, denormalised); the result is scaled to unit
    Frobenius norm with the sign rule of the module docstring, never by ``h33``.

    Parameters
    ----------
    matrix : array of shape (3, 3), optional
        Any non-zero matrix; stored rescaled to unit Frobenius norm (sign rule applied).

    References
    ----------
    R. Hartley, A. Zisserman, *Multiple View Geometry in Computer Vision*, 2nd ed.,
    Cambridge University Press, 2004, algorithm 4.2. doi:10.1017/CBO9780511811685

    Examples
    --------
    >>> import numpy as np
    >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> dst = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    >>> H = Projective.estimate(src, dst)
    >>> np.round(H(np.array([[0.5, 0.5]])), 12)
    array([[1., 1.]])
    """

    dof = 8
    min_points = 4
    needs_non_collinear = True
    _level = 4

    @classmethod
    def _check_structure(cls, M):
        if np.any(np.abs(M).max(axis=(-2, -1)) == 0):
            raise ValueError("Projective: matrix must be non-zero, got all zeros")

    @classmethod
    def _canonical(cls, M):
        return _sign_rule(M, _namespace(M))

    @staticmethod
    def _estimate(src, dst, xp):
        return _dlt(src, dst, xp, func="Projective.estimate")


def rotation_shears(angle: float) -> np.ndarray:
    """Three shears whose product is the rotation by ``angle`` (Paeth 1986).

    ``R(angle) = S3 @ S2 @ S1`` with ``S1 = S3 = [[1, -tan(angle/2), 0], [0, 1, 0],
    [0, 0, 1]]`` (a horizontal shear) and ``S2 = [[1, 0, 0], [sin(angle), 1, 0],
    [0, 0, 1]]`` (a vertical shear). Each shear moves whole rows (or columns) by a
    constant, so an image can be rotated with three 1-D resamplings, each of which
    preserves area; that is why the decomposition is used for high-quality rotation.

    Parameters
    ----------
    angle : float
        Radians, ``|angle| < pi`` (at ``pi`` the tangent of ``angle/2`` is infinite).

    Returns
    -------
    ndarray of shape (3, 3, 3), float64
        ``[S1, S2, S3]``, applied in that order (``S1`` first).

    References
    ----------
    A. W. Paeth, "A fast algorithm for general raster rotation", Graphics Interface
    1986.

    Examples
    --------
    >>> import numpy as np
    >>> S = rotation_shears(0.3)
    >>> np.allclose(S[2] @ S[1] @ S[0], Euclidean(rotation=0.3).matrix)
    True
    """
    a = check_real(angle, "rotation_shears", "angle", low=-math.pi, high=math.pi,
                   low_inclusive=False, high_inclusive=False)
    alpha = -math.tan(a / 2.0)
    beta = math.sin(a)
    sx = np.array([[1.0, alpha, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    sy = np.array([[1.0, 0.0, 0.0], [beta, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return np.stack([sx, sy, sx.copy()])
