"""The synthetic detection scenes: tight boxes, counts, no overlap, seeds, errors."""

from __future__ import annotations

import numpy as np
import pytest

from cvgeo.geometry.boxes import box_iou
from deep.models.detection import GroundTruth
from deep.scenes import SCENE_SHAPES, make_detection_scenes


def test_boxes_are_tight_around_the_shapes():
    s = make_detection_scenes(40, image_size=48, noise=0.0, max_objects=5, seed=3)
    assert s.images.shape == (40, 48, 48) and s.images.dtype == np.float32
    for img, boxes, labels in zip(s.images, s.boxes, s.labels):
        assert 1 <= len(boxes) <= 5 and boxes.shape == (len(labels), 4)
        assert labels.dtype == np.int64 and set(labels.tolist()) <= {0, 1, 2}
        covered = np.zeros(img.shape, bool)
        for x1, y1, x2, y2 in boxes:
            c1, r1, c2, r2 = int(x1 + 0.5), int(y1 + 0.5), int(x2 - 0.5), int(y2 - 0.5)
            assert 0 <= c1 <= c2 < 48 and 0 <= r1 <= r2 < 48
            patch = img[r1:r2 + 1, c1:c2 + 1] > 0
            # every side of the box touches the shape
            assert patch[0].any() and patch[-1].any() and patch[:, 0].any() and patch[:, -1].any()
            covered[r1:r2 + 1, c1:c2 + 1] = True
        assert (img[~covered] == 0).all()  # nothing outside the boxes
        iou = box_iou(boxes, boxes)
        np.fill_diagonal(iou, 0)
        assert (iou == 0).all()  # max_iou=0: boxes never overlap
    counts = np.bincount(np.concatenate(s.labels), minlength=3)
    assert counts.min() > 0.2 * counts.sum()  # classes roughly balanced


def test_seed_colour_classes_and_helpers():
    a = make_detection_scenes(5, image_size=32, seed=7)
    b = make_detection_scenes(5, image_size=32, seed=7)
    np.testing.assert_array_equal(a.images, b.images)
    assert all((x == y).all() for x, y in zip(a.boxes, b.boxes))
    assert not np.array_equal(a.images, make_detection_scenes(5, image_size=32, seed=8).images)
    c = make_detection_scenes(6, image_size=40, channels=3, classes=SCENE_SHAPES, seed=1,
                              min_objects=3, max_objects=3, max_iou=0.2)
    assert c.images.shape == (6, 40, 40, 3) and c.class_names == SCENE_SHAPES
    assert all(len(x) == 3 for x in c.boxes)
    assert c.tensors().shape == (6, 3, 40, 40)
    gts = c.ground_truths()
    assert len(gts) == 6 and isinstance(gts[0], GroundTruth)
    sub = c.subset([4, 1])
    np.testing.assert_array_equal(sub.images[0], c.images[4])
    assert len(c.subset(slice(0, 2))) == 2


def test_scene_errors():
    with pytest.raises(ValueError, match="make_detection_scenes: classes must be distinct names"):
        make_detection_scenes(2, classes=("circle", "star"))
    with pytest.raises(ValueError, match=r"make_detection_scenes: max_objects must be an int >= 3"):
        make_detection_scenes(2, min_objects=3, max_objects=2)
    with pytest.raises(ValueError, match="make_detection_scenes: channels must be 1 or 3"):
        make_detection_scenes(2, channels=2)
    with pytest.raises(ValueError, match=r"make_detection_scenes: max_iou must be in \[0.0, 1.0\)"):
        make_detection_scenes(2, max_iou=1.0)
