"""deep: PyTorch models built on cvgeo's utilities (requires the ``deep`` extra: torch).

The public API is re-exported here, one block per module; ``__all__`` lists it and
``tests/test_api_surface.py`` guards it.
"""

from deep import data as _data
from deep import explain as _explain
from deep import functional as _functional
from deep import layers as _layers
from deep import losses as _losses
from deep import metrics as _metrics
from deep import models as _models
from deep import scenes as _scenes
from deep import segdata as _segdata
from deep import text as _text
from deep import train as _train
from deep.data import *  # noqa: F403
from deep.explain import *  # noqa: F403
from deep.functional import *  # noqa: F403
from deep.layers import *  # noqa: F403
from deep.losses import *  # noqa: F403
from deep.metrics import *  # noqa: F403
from deep.models import *  # noqa: F403
from deep.scenes import *  # noqa: F403
from deep.segdata import *  # noqa: F403
from deep.text import *  # noqa: F403
from deep.train import *  # noqa: F403

__all__ = sorted({
    *_layers.__all__,
    *_models.__all__,
    *_data.__all__,
    *_train.__all__,
    *_scenes.__all__,
    *_functional.__all__,
    *_losses.__all__,
    *_metrics.__all__,
    *_segdata.__all__,
    *_explain.__all__,
    *_text.__all__,
})
