"""How many threads cvgeo's compiled kernels use: one switch for the whole library.

By default every kernel runs on the calling thread, as a single-threaded library does.
``set_num_threads(n)`` with ``n > 1`` switches the kernels whose row loops are independent
(``warp``'s output rows, ``hough_lines``' votes per angle) to their numba ``parallel=True``
versions, on ``n`` of numba's threads. Results do not depend on the thread count.

numba reads ``NUMBA_NUM_THREADS`` (default: the number of cores) once, when it starts its
thread pool; that is the most threads any kernel can use, so ``set_num_threads(None)`` means
all of them and a larger ``n`` is refused.
"""

from __future__ import annotations

import numba

from cvgeo._checks import check_int

__all__ = ["get_num_threads", "set_num_threads"]

_state = {"n": 1}


def set_num_threads(n: int | None) -> int:
    """Set how many threads cvgeo's parallel kernels use; return the previous setting.

    Parameters
    ----------
    n : int or None
        ``1`` (the default at import): every kernel is serial. ``n > 1``: the kernels
        with a parallel version run on ``n`` threads. ``None``: numba's maximum,
        ``NUMBA_NUM_THREADS`` when that environment variable is set, else the core count.

    Returns
    -------
    int
        The thread count in force before the call.

    Raises
    ------
    TypeError, ValueError
        ``n`` is not an int in ``[1, NUMBA_NUM_THREADS]``.

    Examples
    --------
    >>> import cvgeo
    >>> previous = cvgeo.set_num_threads(1)
    >>> cvgeo.get_num_threads()
    1
    >>> _ = cvgeo.set_num_threads(previous)
    """
    limit = numba.config.NUMBA_NUM_THREADS
    value = limit if n is None else check_int(n, "set_num_threads", "n", low=1, high=limit)
    previous = _state["n"]
    _state["n"] = value
    return previous


def get_num_threads() -> int:
    """The thread count that ``set_num_threads`` set (1 unless changed)."""
    return _state["n"]


def parallel_threads() -> int:
    """For kernels' callers: 0 to run serially, else the thread count to run in parallel.

    Sets numba's thread count for the calling thread (numba keeps it per thread), so a
    switch made in one thread holds for kernels launched from another.
    """
    n = _state["n"]
    if n <= 1:
        return 0
    numba.set_num_threads(n)
    return n
