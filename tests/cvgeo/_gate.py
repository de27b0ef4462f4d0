"""A test-only pipeline op that lets a test decide when each image may go on.

``gate(image, arrivals=..., tokens=...)`` writes one line (its process id) to the
``arrivals`` FIFO when an image reaches it, then blocks until it can read one byte (a
token) from the ``tokens`` FIFO, and returns the image unchanged. The test holds both
FIFOs open read-write (so neither open blocks), hands out tokens, and counts arrivals:
with ``k`` tokens and ``w`` workers, ``k + w`` arrivals mean every worker is parked at
the gate and exactly ``k`` images went through it — a known point at which to kill the
run, without sleeping or racing.
"""

from __future__ import annotations

import os
import select

import numpy as np


def gate(image: np.ndarray, *, arrivals: str = "", tokens: str = "") -> np.ndarray:
    """Announce this image on ``arrivals``, wait for a token on ``tokens``; identity.

    Both FIFOs are opened non-blocking (an open never waits for the other end); once the
    test closes its end of ``tokens``, every waiting and later call fails at once.
    """
    fd = os.open(arrivals, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO if the test is gone
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    fd = os.open(tokens, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                token = os.read(fd, 1)  # b"": no writer left, the test closed its end
            except BlockingIOError:  # the test holds its end open, no token yet
                select.select([fd], [], [])  # wakes on a token, or when the test closes
                continue
            if token != b"t":
                raise RuntimeError("gate: the test closed the token FIFO")
            return image
    finally:
        os.close(fd)


class Gate:
    """The test's end: ``give(n)`` hands out tokens, ``wait_arrivals(n)`` returns the
    process ids of the next ``n`` arrivals (raising TimeoutError after ``timeout``
    seconds without one, so a broken run fails the test instead of hanging it)."""

    def __init__(self, folder: os.PathLike) -> None:
        self.arrivals = os.path.join(folder, "arrivals.fifo")
        self.tokens = os.path.join(folder, "tokens.fifo")
        os.mkfifo(self.arrivals)
        os.mkfifo(self.tokens)
        self._arr = os.open(self.arrivals, os.O_RDWR)  # Linux: opens at once
        self._tok = os.open(self.tokens, os.O_RDWR)
        self._buffer = b""

    def params(self) -> dict[str, str]:
        return {"arrivals": self.arrivals, "tokens": self.tokens}

    def give(self, n: int) -> None:
        os.write(self._tok, b"t" * n)

    def wait_arrivals(self, n: int, timeout: float = 120.0) -> list[int]:
        pids: list[int] = []
        while len(pids) < n:
            while b"\n" not in self._buffer:
                ready, _, _ = select.select([self._arr], [], [], timeout)
                if not ready:
                    raise TimeoutError(f"gate: {len(pids)} of {n} arrivals in {timeout} s")
                self._buffer += os.read(self._arr, 4096)
            line, self._buffer = self._buffer.split(b"\n", 1)
            pids.append(int(line))
        return pids

    def close_tokens(self) -> None:
        """Hand out no more tokens: every call waiting at the gate, or arriving later, fails."""
        if self._tok is not None:
            os.close(self._tok)
            self._tok = None

    def close(self) -> None:
        self.close_tokens()
        os.close(self._arr)
