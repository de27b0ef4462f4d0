"""Generated segmentation scenes, joint image/mask warps, the segmentation dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cvgeo
from deep.data import RandomAffine, masks_to_tensor
from deep.losses import unet_weight_map
from deep.metrics import label_instances
from deep.segdata import (
    SCENE_CLASSES,
    JointWarp,
    SegmentationDataset,
    make_segmentation_scenes,
    make_touching_scenes,
)


def test_scenes_are_seeded_and_consistent():
    a = make_segmentation_scenes(6, image_size=(40, 56), seed=3)
    b = make_segmentation_scenes(6, image_size=(40, 56), seed=3)
    c = make_segmentation_scenes(6, image_size=(40, 56), seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)
    assert a.images.shape == (6, 40, 56) and a.images.dtype == np.float32
    assert a.labels.dtype == np.int64 and a.instances.dtype == np.int32
    assert a.class_names == SCENE_CLASSES and len(a) == 6
    assert a.images.min() >= 0 and a.images.max() <= 1
    # objects and classes agree: background where no object, one class per object
    np.testing.assert_array_equal(a.labels > 0, a.instances > 0)
    for i in range(6):
        for k in np.unique(a.instances[i])[1:]:
            assert np.unique(a.labels[i][a.instances[i] == k]).size == 1
    # all three shape classes occur over the set
    assert set(np.unique(a.labels)) == {0, 1, 2, 3}


def test_scene_objects_have_their_shape_class():
    # without noise a circle fills about pi / (pi r^2 / (2 r)^2) ~ 0.785 of its bounding
    # box, a square between 0.5 (45 degrees) and 1, a triangle about 0.43-0.5
    s = make_segmentation_scenes(30, image_size=64, n_objects=(1, 1), noise=0.0, seed=0)
    fill = {1: [], 2: [], 3: []}
    for i in range(30):
        mask = s.instances[i] == 1
        rows, cols = np.nonzero(mask)
        box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        fill[int(s.labels[i][mask][0])].append(mask.sum() / box)
    assert 0.72 < np.mean(fill[1]) < 0.85
    assert np.mean(fill[3]) < 0.55 < np.mean(fill[2])


def test_touching_scenes_have_one_pixel_gaps_that_separate_objects():
    s = make_touching_scenes(8, image_size=48, seed=1)
    assert s.class_names == ("background", "object")
    n_touching = 0
    for i in range(8):
        inst = s.instances[i]
        # no two different objects are 4-neighbours: the gaps separate them
        for a, b in ((inst[:, 1:], inst[:, :-1]), (inst[1:], inst[:-1])):
            assert not ((a > 0) & (b > 0) & (a != b)).any()
        # so the components of the class map are exactly the objects
        comps = label_instances(s.labels[i], connectivity=1)
        assert comps.max() == np.unique(inst[inst > 0]).size
        assert cvgeo.adjusted_rand_index(inst, comps) == 1.0
        # and objects do touch across one-pixel gaps: 8-connectivity merges some of them
        n_touching += label_instances(s.labels[i], connectivity=2).max() < comps.max()
    assert n_touching >= 4


def test_joint_warp_moves_image_and_masks_together():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (24, 30))
    image = (labels / 3.0).astype(np.float32)  # the image *is* the mask, scaled
    jw = JointWarp(RandomAffine(max_rotation=1.0, max_translation=0.1, scale=(0.8, 1.2),
                                interpolation="nearest", seed=5), mask_fill=7)
    img_w, lab_w = jw(image, labels)
    assert lab_w.dtype == labels.dtype and lab_w.shape == labels.shape
    inside = lab_w != 7
    assert inside.sum() > 0.5 * labels.size and (~inside).any()  # part from outside
    # nearest for both: where the mask came from the source, image * 3 is the label
    np.testing.assert_array_equal(np.rint(img_w[inside] * 3).astype(int), lab_w[inside])
    assert set(np.unique(lab_w)) <= {0, 1, 2, 3, 7}
    # the identity draw leaves everything unchanged
    ident = JointWarp(RandomAffine(max_rotation=0.0, max_translation=0.0, scale=(1.0, 1.0),
                                   seed=0))
    out = ident(image, labels, labels.astype(np.int32) * 1000)
    np.testing.assert_allclose(out[0], image, atol=1e-6)
    np.testing.assert_array_equal(out[1], labels)
    np.testing.assert_array_equal(out[2], labels * 1000)


def test_joint_warp_is_seeded():
    s = make_segmentation_scenes(1, image_size=32, seed=0)
    outs = [JointWarp(RandomAffine(max_rotation=3.0, seed=9))(s.images[0], s.labels[0])
            for _ in range(2)]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_array_equal(outs[0][0], outs[1][0])


def test_dataset_items_and_weights():
    s = make_touching_scenes(3, image_size=32, seed=2)
    ds = SegmentationDataset(s.images, s.labels, instances=s.instances,
                             weight_fn=lambda inst, lab: unet_weight_map(inst))
    item = ds[1]
    assert set(item) == {"image", "labels", "instances", "weight"}
    assert item["image"].shape == (1, 32, 32) and item["image"].dtype == torch.float32
    assert item["labels"].dtype == torch.int64 and item["labels"].shape == (32, 32)
    np.testing.assert_array_equal(item["labels"].numpy(), s.labels[1])
    np.testing.assert_allclose(item["weight"].numpy(), unet_weight_map(s.instances[1]))
    plain = SegmentationDataset(s.images, s.labels)[0]
    assert (plain["weight"] == 1).all() and (plain["instances"] == 0).all()
    assert len(ds) == 3


def test_masks_to_tensor_keeps_values():
    m = np.array([[0, 255], [3, 1]], np.uint8)
    t = masks_to_tensor(m, layout="HW")
    assert t.dtype == torch.int64 and t.shape == (1, 2, 2)
    assert t[0, 0, 1].item() == 255  # not scaled like an image
    assert masks_to_tensor(np.zeros((2, 3, 4), bool), layout="NHW").shape == (2, 3, 4)
    with pytest.raises(TypeError, match="masks_to_tensor: masks must hold integer labels"):
        masks_to_tensor(np.zeros((2, 2)), layout="HW")
    with pytest.raises(ValueError, match="masks_to_tensor: masks must be non-empty with 3"):
        masks_to_tensor(np.zeros((2, 2), int), layout="NHW")
    with pytest.raises(ValueError, match="masks_to_tensor: layout must be 'HW' or 'NHW'"):
        masks_to_tensor(np.zeros((2, 2), int), layout="HWC")


def test_errors():
    with pytest.raises(ValueError, match="make_segmentation_scenes: image_size"):
        make_segmentation_scenes(1, image_size=8)
    with pytest.raises(ValueError, match="make_segmentation_scenes: radius must be at most"):
        make_segmentation_scenes(1, radius=(0.1, 0.5))
    with pytest.raises(ValueError, match=r"make_touching_scenes: n_objects\[1\]"):
        make_touching_scenes(1, n_objects=(3, 2))
    with pytest.raises(ValueError, match="make_touching_scenes: squeeze must lie in"):
        make_touching_scenes(1, squeeze=(0.8, 1.2))
    with pytest.raises(TypeError, match="JointWarp: augment must be"):
        JointWarp(lambda x: x)
    jw = JointWarp(RandomAffine(seed=0))
    with pytest.raises(ValueError, match="JointWarp: every mask must be an integer array"):
        jw(np.zeros((4, 4), np.float32), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="mask values must be below 2\\*\\*24"):
        jw(np.zeros((4, 4), np.float32), np.full((4, 4), 2 ** 25))
    with pytest.raises(ValueError, match="SegmentationDataset: labels must be an integer"):
        SegmentationDataset(np.zeros((2, 4, 4)), np.zeros((2, 4, 5), int))
    with pytest.raises(TypeError, match="SegmentationDataset: transform must be a JointWarp"):
        SegmentationDataset(np.zeros((2, 4, 4)), np.zeros((2, 4, 4), int), transform=abs)
