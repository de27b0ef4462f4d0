"""deep: PyTorch models built on cvgeo's utilities (requires the ``deep`` extra: torch)."""

__all__: list[str] = []
