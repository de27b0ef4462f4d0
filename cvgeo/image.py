"""Image basics: reading and writing, dtype conversion, grey, normalisation, resizing.

Conventions
-----------
Images are numpy arrays, channel-last: ``(H, W)`` grey or ``(H, W, C)`` colour, indexed
``[row, col]``. Any of uint8, uint16, bool, float32, float64 is accepted; computation
happens in float32 in [0, 1] (uint8 / 255, uint16 / 65535, bool as 0/1, floats taken as
they are). :func:`to_float` is the one place that conversion happens.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp

from cvgeo._checks import (
    DEFAULT_MAX_PIXELS,
    check_choice,
    check_image,
    check_int,
    check_max_pixels,
    check_output_pixels,
    check_real,
    check_shape2,
    describe,
)
from cvgeo._io import atomic_write

__all__ = [
    "read_image",
    "write_image",
    "to_float",
    "to_uint8",
    "to_gray",
    "normalize",
    "denormalize",
    "resize",
    "DEFAULT_MAX_PIXELS",
]

#: Bytes a file may hold beyond its pixels' uncompressed size (metadata, ICC profiles,
#: thumbnails), see :func:`read_image`.
METADATA_BYTES = 16 * 2**20

#: Rec. 709 luma weights (the sRGB primaries), the same as scikit-image's ``rgb2gray``.
GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)

Scale = Literal["dtype", "minmax"] | None


# ------------------------------------------------------------------ channel planes
def to_planes(x: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> C-contiguous (C, H, W) planes (a view for (H, W))."""
    if x.ndim == 2:
        return x[None]
    return np.ascontiguousarray(np.moveaxis(x, 2, 0))


def from_planes(p: np.ndarray, ndim: int) -> np.ndarray:
    """Inverse of :func:`to_planes` for an image of ``ndim`` dimensions; float32, C-contiguous."""
    out = p[0] if ndim == 2 else np.moveaxis(p, 0, 2)
    return np.ascontiguousarray(out, dtype=np.float32)


# --------------------------------------------------------------------------- dtype
def _to_float(image: np.ndarray, scale: Scale = "dtype") -> np.ndarray:
    """Convert an already-validated image to float32 (no validation, may return input)."""
    kind = image.dtype
    if scale == "dtype":
        if kind == np.uint8:
            return image.astype(np.float32) / np.float32(255)
        if kind == np.uint16:
            return image.astype(np.float32) / np.float32(65535)
        return np.ascontiguousarray(image, dtype=np.float32)
    out = np.asarray(image, dtype=np.float32)
    if scale == "minmax":
        lo, hi = float(out.min()), float(out.max())
        if hi > lo:
            return ((out - lo) * np.float32(1.0 / (hi - lo))).astype(np.float32)
        return np.zeros_like(out)
    return np.ascontiguousarray(out)


def as_float_image(
    image: np.ndarray,
    func: str,
    name: str = "image",
    *,
    ndim: Sequence[int] = (2, 3),
    channels: Sequence[int] | None = None,
    min_size: int = 1,
) -> np.ndarray:
    """Validate ``image`` for ``func`` and return it as C-contiguous float32 in [0, 1].

    The shared entry point of every image function (not part of the public API). The
    result may *be* the input when that is already C-contiguous float32: callers must
    never write into it.
    """
    image = check_image(image, func, name, ndim=ndim, channels=channels, min_size=min_size)
    return _to_float(image, "dtype")


def to_float(image: np.ndarray, scale: Scale = "dtype") -> np.ndarray:
    """Convert an image to float32.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        uint8, uint16, bool, float32 or float64.
    scale : {"dtype", "minmax", None}
        ``"dtype"``: uint8 / 255, uint16 / 65535, bool as 0/1, floats unchanged; the
        convention every ``cvgeo`` function uses, so thresholds are in units of the
        [0, 1]-scaled image. ``"minmax"``: stretch the image's own range to [0, 1] (use it
        for 12-bit data stored in uint16, or for display); a constant image becomes 0.
        ``None``: cast only.

    Returns
    -------
    ndarray of float32, same shape

    Raises
    ------
    TypeError, ValueError
        Not an accepted image, NaN/inf values, or an unknown ``scale``.

    Examples
    --------
    >>> import numpy as np
    >>> to_float(np.array([[0, 255]], dtype=np.uint8))
    array([[0., 1.]], dtype=float32)
    """
    if scale is not None:
        check_choice(scale, "to_float", "scale", ("dtype", "minmax"))
    image = check_image(image, "to_float")
    out = _to_float(image, scale)
    return out.copy() if np.shares_memory(out, image) else out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image to uint8 for display or saving.

    Floats must lie in [0, 1] (a tolerance of 1e-6 is clipped); anything else is an error
    rather than a silent clip: rescale first with ``to_float(image, scale="minmax")``.
    uint16 is divided by 257, bool maps to 0/255.

    Raises
    ------
    ValueError
        A float image with values outside [0, 1].
    """
    image = check_image(image, "to_uint8")
    if image.dtype == np.uint8:
        return image.copy()
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    lo, hi = float(image.min()), float(image.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"to_uint8: image must have values in [0, 1], got range [{lo:.4g}, {hi:.4g}]; "
            "rescale it first with cvgeo.to_float(image, scale='minmax')"
        )
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert an image to grey float32 in [0, 1].

    Colour uses the Rec. 709 luma weights ``0.2125 R + 0.7154 G + 0.0721 B`` (as
    scikit-image's ``rgb2gray``); a fourth (alpha) channel is ignored. A grey image is
    only converted to float.

    Parameters
    ----------
    image : ndarray of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)

    Returns
    -------
    ndarray of shape (H, W), float32
    """
    image = check_image(image, "to_gray", channels=(1, 3, 4))
    x = _to_float(image, "dtype")
    if x.ndim == 2:
        return x.copy() if np.shares_memory(x, image) else x
    if x.shape[2] == 1:
        return x[..., 0].copy()
    return np.ascontiguousarray(x[..., :3] @ GRAY_WEIGHTS, dtype=np.float32)


# ----------------------------------------------------------------- normalisation
def _per_channel(value, image: np.ndarray, func: str, name: str, positive: bool) -> np.ndarray:
    n_ch = 1 if image.ndim == 2 else image.shape[2]
    try:
        arr = None if isinstance(value, str) else np.atleast_1d(np.asarray(value, np.float64))
    except (TypeError, ValueError, OverflowError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size not in (1, n_ch):
        raise ValueError(f"{func}: {name} must be a number or a sequence of {n_ch} numbers "
                         f"(one per channel), got {describe(value)}")
    for v in arr:
        check_real(float(v), func, name, low=0.0 if positive else None,
                   low_inclusive=not positive)
    return arr


def normalize(image: np.ndarray, mean, std) -> np.ndarray:
    """Per-channel standardisation ``(to_float(image) - mean) / std``.

    The same arithmetic as torchvision's ``transforms.Normalize(mean, std)`` on an image
    already in [0, 1]: ``normalize(img, (0.5,) * 3, (0.5,) * 3)`` maps [0, 1] to [-1, 1].

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    mean, std : float or sequence of C floats
        In units of the [0, 1]-scaled image. ``std`` must be > 0.

    Returns
    -------
    ndarray of float32, same shape

    Raises
    ------
    TypeError, ValueError
        A bad image; ``mean`` or ``std`` not finite numbers (one or one per channel),
        ``std <= 0``, or so small that the result overflows float32.

    See Also
    --------
    denormalize : the inverse.
    """
    image = check_image(image, "normalize")
    m = _per_channel(mean, image, "normalize", "mean", positive=False)
    s = _per_channel(std, image, "normalize", "std", positive=True)
    out = (_to_float(image).astype(np.float64) - m) / s
    _check_float32_range(out, "normalize", "mean and std")
    return out.astype(np.float32)


def denormalize(image: np.ndarray, mean, std) -> np.ndarray:
    """Invert :func:`normalize`: ``image * std + mean`` per channel, float32."""
    image = check_image(image, "denormalize")
    if image.dtype.kind != "f":
        raise TypeError(f"denormalize: image must be a float array (a normalised image), got "
                        f"dtype {image.dtype}")
    m = _per_channel(mean, image, "denormalize", "mean", positive=False)
    s = _per_channel(std, image, "denormalize", "std", positive=True)
    out = image.astype(np.float64) * s + m
    _check_float32_range(out, "denormalize", "mean and std")
    return out.astype(np.float32)


def _check_float32_range(out: np.ndarray, func: str, names: str) -> None:
    """Refuse a float64 result that float32 cannot hold (it would become inf)."""
    big = float(np.abs(out).max()) if out.size else 0.0
    if big > float(np.finfo(np.float32).max):
        raise ValueError(f"{func}: {names} must give a result float32 can hold "
                         f"(|value| <= 3.4e38), got values up to {big:.4g}")


# ------------------------------------------------------------------------ resize
def _cubic(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys (1981) cubic convolution kernel with parameter ``a``."""
    t = np.abs(t)
    t2, t3 = t * t, t * t * t
    near = (a + 2) * t3 - (a + 3) * t2 + 1
    far = a * t3 - 5 * a * t2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _resize_weights(n_in: int, n_out: int, method: str) -> sp.csr_matrix:
    """Sparse ``(n_out, n_in)`` matrix that resamples one axis.

    Pixel centres sit at integer coordinates, so output pixel ``i`` is centred at input
    coordinate ``(i + 0.5) * n_in / n_out - 0.5``; borders replicate the edge pixel.
    """
    scale = n_in / n_out
    i = np.arange(n_out)
    if method == "area" and n_out < n_in:
        # Output pixel i covers the input interval [i*s, (i+1)*s); weight = overlap / s.
        lo, hi = i * scale, (i + 1) * scale
        first = np.floor(lo).astype(np.int64)
        span = int(np.ceil(scale)) + 1
        cols = first[:, None] + np.arange(span)[None, :]
        overlap = np.minimum(hi[:, None], cols + 1) - np.maximum(lo[:, None], cols)
        w = np.clip(overlap, 0.0, None) / scale
    elif method == "nearest":
        cols = np.minimum(np.floor((i + 0.5) * scale).astype(np.int64), n_in - 1)[:, None]
        w = np.ones_like(cols, dtype=np.float64)
    else:
        x = (i + 0.5) * scale - 0.5
        base = np.floor(x).astype(np.int64)
        if method in ("bilinear", "area"):  # area when enlarging is bilinear
            cols = base[:, None] + np.arange(2)[None, :]
            w = 1.0 - np.abs(x[:, None] - cols)
        else:  # bicubic
            cols = base[:, None] + np.arange(-1, 3)[None, :]
            w = _cubic(x[:, None] - cols)
            w /= w.sum(axis=1, keepdims=True)
    cols = np.clip(cols, 0, n_in - 1)
    rows = np.broadcast_to(i[:, None], cols.shape)
    keep = w != 0
    m = sp.csr_matrix((w[keep], (rows[keep], cols[keep])), shape=(n_out, n_in))
    m.sum_duplicates()
    return m.astype(np.float32)


def resize(
    image: np.ndarray,
    output_shape: tuple[int, int],
    *,
    interpolation: Literal["auto", "area", "nearest", "bilinear", "bicubic"] = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Resize an image to ``output_shape = (H, W)``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    output_shape : (int, int)
        Output height and width (channels are kept).
    interpolation : {"auto", "area", "nearest", "bilinear", "bicubic"}
        ``"area"`` averages the input pixels each output pixel covers, weighted by
        overlap: the right filter for shrinking (no aliasing from skipped pixels).
        ``"bilinear"`` / ``"bicubic"`` (Keys, a = -0.5) interpolate, for enlarging.
        ``"auto"`` chooses per axis: area where that axis shrinks, bilinear where it grows.
    max_pixels : int
        Largest accepted ``H * W`` of the output (default ``DEFAULT_MAX_PIXELS``, 1e8),
        refused before anything is allocated.

    Returns
    -------
    ndarray of float32, shape ``output_shape`` (+ channels)

    Raises
    ------
    TypeError, ValueError
        A bad image, ``output_shape`` not two positive ints or above ``max_pixels``, an
        unknown ``interpolation``.

    Notes
    -----
    Convention: pixel centres at integer coordinates; output pixel ``i`` samples input
    coordinate ``(i + 0.5) * in / out - 0.5`` (the convention of OpenCV's ``resize``);
    borders replicate. The resampling is separable: one sparse matrix per axis.

    Examples
    --------
    >>> import numpy as np
    >>> resize(np.arange(16, dtype=np.float32).reshape(4, 4), (2, 2))
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """
    check_choice(interpolation, "resize", "interpolation",
                 ("auto", "area", "nearest", "bilinear", "bicubic"))
    out_h, out_w = check_shape2(output_shape, "resize")
    check_output_pixels((out_h, out_w), "resize", check_max_pixels(max_pixels, "resize"))
    x = as_float_image(image, "resize")
    h, w = x.shape[:2]
    rest = x.shape[2:]

    def method(n_in, n_out):
        if interpolation != "auto":
            return interpolation
        return "area" if n_out < n_in else "bilinear"

    flat = x.reshape(h, -1)
    if out_h != h or interpolation not in ("auto", "area"):
        flat = _resize_weights(h, out_h, method(h, out_h)) @ flat  # (out_h, W*C)
    tmp = flat.reshape(out_h, w, -1).transpose(1, 0, 2).reshape(w, -1)  # (W, out_h*C)
    if out_w != w or interpolation not in ("auto", "area"):
        tmp = _resize_weights(w, out_w, method(w, out_w)) @ tmp  # (out_w, out_h*C)
    out = tmp.reshape(out_w, out_h, -1).transpose(1, 0, 2).reshape((out_h, out_w) + rest)
    return np.ascontiguousarray(out, dtype=np.float32)


# ------------------------------------------------------------------- read/write
def read_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_bytes: int | None = None) -> np.ndarray:
    """Read an image file into a numpy array (RGB or RGBA order, or grey).

    The header is read first and a file with more than ``max_pixels`` pixels is refused
    before anything is decoded (a decompression bomb cannot exhaust memory); a file far
    larger than its pixels need is refused before it is read.

    Parameters
    ----------
    path : str or path-like
    max_pixels : int
        Largest accepted height x width.
    max_bytes : int, optional
        Largest accepted file size in bytes. By default the largest size the header's
        pixels could need uncompressed (8 bytes a pixel: 16-bit RGBA) plus 16 MiB of
        metadata, so a small image padded with junk is never read into memory.

    Returns
    -------
    ndarray
        ``(H, W)`` grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, in the file's own dtype
        (uint8 or uint16 usually). Decoding itself is plumbing done by OpenCV.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a readable image, or is larger than ``max_pixels``.
    """
    import cv2
    from PIL import Image, UnidentifiedImageError

    func = "read_image"
    max_pixels = check_max_pixels(max_pixels, "read_image")
    if max_bytes is not None:
        max_bytes = check_int(max_bytes, "read_image", "max_bytes", low=1)
    p = _check_path(path, func)
    if not p.is_file():
        raise FileNotFoundError(f"read_image: path must name an existing file, got {str(p)!r}")
    try:
        with Image.open(p) as im:
            w, h = im.size
    except Image.DecompressionBombError as exc:
        raise ValueError(f"read_image: {str(p)!r} is too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"read_image: {str(p)!r} is not a readable image file ({exc})") from None
    if w * h > max_pixels:
        raise ValueError(
            f"read_image: image must have at most max_pixels={max_pixels} pixels, got "
            f"{h}x{w} = {h * w} in {str(p)!r}"
        )
    limit = 8 * w * h + METADATA_BYTES if max_bytes is None else max_bytes
    size = p.stat().st_size
    if size > limit:
        raise ValueError(
            f"read_image: the file must hold at most {limit} bytes for a {h}x{w} image "
            f"(pass max_bytes= to allow more), got {size} bytes in {str(p)!r}"
        )
    data = np.fromfile(p, dtype=np.uint8, count=size)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"read_image: {str(p)!r} is corrupt or truncated: it could not be "
                         "decoded")
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[..., ::-1]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[..., [2, 1, 0, 3]]
    return np.ascontiguousarray(img)


def _check_path(path: object, func: str) -> Path:
    """A ``str`` or ``os.PathLike`` path as a :class:`pathlib.Path`."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}: path must be a str or os.PathLike, got {describe(path)}")
    return Path(path)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an image file atomically (temporary file, then rename).

    The format follows the extension (.png, .jpg, .tif, .bmp, ...). uint8 and uint16 are
    written as they are; bool as 0/255; floats must lie in [0, 1] and are written as uint8
    (see :func:`to_uint8`). A run interrupted mid-write never leaves a partial file.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    import cv2

    func = "write_image"
    image = check_image(image, "write_image", channels=(1, 3, 4))
    p = _check_path(path, func)
    ext = p.suffix.lower()
    if not ext:
        raise ValueError(f"write_image: path must end in an image extension such as .png, got "
                         f"{str(p)!r}")
    img = image if image.dtype in (np.uint8, np.uint16) else to_uint8(image)
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[..., ::-1]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[..., [2, 1, 0, 3]]
    try:
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(img))
    except cv2.error:
        raise ValueError(f"write_image: path must end in an extension OpenCV can encode "
                         f"(.png, .jpg, .tif, .bmp, ...), got {ext!r}") from None
    if not ok:
        raise ValueError(f"write_image: cannot encode an image of dtype {img.dtype} as {ext!r}")
    atomic_write(p, buf.tobytes())
    return p
