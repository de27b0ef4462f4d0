"""Segmentation: pixel features, k-means, mean shift, Felzenszwalb-Huttenlocher, metrics."""

from cvgeo.segment import features as _features
from cvgeo.segment import felzenszwalb as _felzenszwalb
from cvgeo.segment import kmeans as _kmeans
from cvgeo.segment import meanshift as _meanshift
from cvgeo.segment import metrics as _metrics
from cvgeo.segment.features import *  # noqa: F403
from cvgeo.segment.felzenszwalb import *  # noqa: F403
from cvgeo.segment.kmeans import *  # noqa: F403
from cvgeo.segment.meanshift import *  # noqa: F403
from cvgeo.segment.metrics import *  # noqa: F403

__all__ = sorted({
    *_features.__all__,
    *_kmeans.__all__,
    *_meanshift.__all__,
    *_felzenszwalb.__all__,
    *_metrics.__all__,
})
