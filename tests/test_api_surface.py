"""Guard the public surface: removing or adding a public name needs this list edited too."""

import subprocess
import sys
from pathlib import Path

import pytest

import cvgeo

CVGEO_ALL = {
    # _checks
    "DegenerateError",
    # image
    "DEFAULT_MAX_PIXELS", "denormalize", "normalize", "read_image", "resize", "to_float",
    "to_gray", "to_uint8", "write_image",
    # filters
    "BORDERS", "Gradient", "gaussian_blur", "gaussian_filter", "gaussian_gradient",
    "gaussian_kernel",
    "separable_convolve", "sobel",
    # edges
    "canny",
    # hough
    "HoughCircles", "HoughLinePeaks", "HoughLines", "hough_circles", "hough_line_peaks",
    "hough_lines", "hough_segments",
    # draw
    "draw_boxes", "draw_circles", "draw_lines", "draw_segments",
    # fourier
    "FrequencyFilter", "FrequencyGrid", "Spectrum", "apply_filter", "fft_convolve",
    "frequency_filter", "frequency_grid", "hybrid_image", "hybrid_scales", "spectrum",
    # pyramids
    "LaplacianPyramid", "downsample", "gaussian_pyramid", "laplacian_pyramid",
    # segment
    "KMeansResult", "KMeansSegmenter", "MeanShiftResult", "achievable_segmentation_accuracy",
    "adjusted_rand_index", "boundary_recall", "estimate_bandwidth", "felzenszwalb", "kmeans",
    "kmeans_segment", "mean_shift", "mean_shift_segment", "pixel_features", "rgb_to_lab",
    "undersegmentation_error", "variation_of_information",
    # geometry.homogeneous
    "NormalizedPoints", "from_homogeneous", "hartley_normalize", "is_at_infinity",
    "to_homogeneous",
    # geometry.ransac, geometry.homography
    "HomographyEstimator", "HomographyResult", "RansacResult", "find_homography", "ransac",
    # geometry.transforms
    "Affine", "Euclidean", "Projective", "Similarity", "Translation", "rotation_shears",
    # geometry.warp
    "warp",
    # geometry.camera
    "StereoCorrespondences", "correspondences_from_disparity",
    "depth_from_disparity", "intrinsic_matrix", "project", "projection_matrix",
    "rotation_angle", "rotation_from_axis_angle",
    # datasets
    "TwoViewScene", "synthetic_two_view_scene",
    # geometry.epipolar
    "CorrectedMatches", "Epipoles", "FundamentalResult", "Pose", "RecoveredPose",
    "Rectification", "correct_matches", "decompose_essential", "epipolar_distance",
    "epipolar_lines", "epipoles", "essential_from_fundamental", "find_fundamental",
    "fundamental_7point", "fundamental_8point", "fundamental_from_essential",
    "fundamental_from_pose", "normalize_fundamental", "recover_pose", "rectify_uncalibrated",
    "refine_fundamental", "skew", "triangulate_points",
    # geometry.essential
    "EssentialResult", "essential_5point", "find_essential",
    # geometry.boxes
    "BOX_FORMATS", "SoftNMSResult", "batched_nms", "box_area", "box_convert", "box_iou",
    "clip_boxes", "complete_box_iou", "complete_box_iou_loss", "distance_box_iou",
    "distance_box_iou_loss", "generalized_box_iou", "generalized_box_iou_loss", "nms",
    "soft_nms",
    # ops, display
    "OpSpec", "register_op", "to_display",
    # pipeline
    "Pipeline", "PipelineFileError", "Step", "Trace", "TraceStep", "load_pipeline",
    "make_pipeline", "op_parameters", "save_pipeline",
    # threads
    "get_num_threads", "set_num_threads",
}


def test_cvgeo_all_matches_checked_in_list():
    assert set(cvgeo.__all__) == CVGEO_ALL
    assert len(cvgeo.__all__) == len(set(cvgeo.__all__))


def test_every_public_name_exists_and_is_documented():
    for name in cvgeo.__all__:
        obj = getattr(cvgeo, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"cvgeo.{name} has no docstring"


def test_cvgeo_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, cvgeo; print('torch' in sys.modules, 'deep' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


DEEP_ALL = {
    # layers
    "Attention", "AttentionOutput", "Block", "BlockOutput", "DropPath", "MoE", "Mlp",
    "PatchEmbed", "RMSNorm", "Routing", "SwiGLU", "moe_aux_loss",
    "BasicBlock", "BatchNorm2d", "Bottleneck", "ConvNeXtBlock", "ConvNormAct",
    "DepthwiseSeparableConv", "Fire", "GroupNorm", "Inception", "InvertedResidual",
    "LayerNorm", "LayerNorm2d", "LocalResponseNorm", "MBConv", "MobileNetV3Block",
    "SqueezeExcite", "WeightNorm", "make_divisible", "weight_norm",
    "DecoderBlock", "GRU", "GRUCell", "LSTM", "LSTMCell", "MultiHeadAttention",
    "MultiHeadAttentionOutput",
    # models
    "VIT_CONFIGS", "ViT", "ViTConfig", "create_vit", "list_vit_configs", "resample_pos_embed",
    "ConvNeXt", "ConvNet", "EfficientNet", "FeatureInfo", "GoogLeNet", "LeNet5",
    "MOBILENET_V3_CONFIGS", "MobileNetV1", "MobileNetV2", "MobileNetV3", "ModelEntry",
    "RESNET_DEPTHS", "ResNet", "SQUEEZENET_CONFIGS", "STNClassifier", "SpatialTransformer",
    "SqueezeNet", "VGG", "VGG_CONFIGS", "create_model", "list_models", "model_entry",
    "RoIAlign", "RoIPool", "roi_align", "roi_pool",
    # models.detection
    "BoxCoder", "COCO_AREA_RANGES", "CocoEval", "Detections", "GroundTruth", "HungarianMatch",
    "HungarianMatcher", "Matcher", "VocEval", "anchors_per_cell", "evaluate_coco",
    "evaluate_voc", "grid_anchors", "hard_negative_mining", "plot_precision_recall",
    "precision_recall_image", "sigmoid_focal_loss", "ssd_default_boxes", "voc_ap",
    "YOLOv1", "YOLOv1Loss", "YOLOv1LossParts", "decode_yolo_v1", "encode_yolo_v1_targets",
    "SSD", "SSDLoss", "SSDLossParts", "SSDOutput", "decode_ssd",
    "BackboneEncoder", "FCN", "StagesEncoder", "UNet", "UNetEncoder", "center_crop", "fcn",
    "unet", "sinusoidal_embedding",
    "FasterRCNN", "FasterRCNNLossParts", "FasterRCNNOutput", "RPNOutput", "decode_faster_rcnn",
    "rpn_proposals",
    "DETR", "DETRLoss", "DETRLossParts", "DETROutput", "boxes_from_normalized",
    "boxes_to_normalized", "decode_detr",
    # functional
    "conv_matrix", "conv_output_size", "conv_transpose_output_size",
    # losses
    "cross_entropy", "dice_loss", "focal_loss", "unet_weight_map",
    # metrics
    "InstanceScores", "SegmentationScores", "confusion_matrix", "instance_scores",
    "label_instances", "segmentation_scores",
    # segdata
    "JointWarp", "SCENE_CLASSES", "SegmentationDataset", "SegmentationScenes",
    "make_segmentation_scenes", "make_touching_scenes",
    # captioning
    "CaptionTransformer", "Captions", "ShowAndTell", "beam_search", "caption_loss",
    "greedy_decode", "length_penalty",
    # explain
    "BoxTarget", "ClassTarget", "Explanation", "LayerCapture", "MaskTarget", "QuadrantBlobs",
    "QuadrantCNN", "attention_maps", "attention_rollout", "cam", "colorize", "default_layer",
    "eval_mode", "grad_cam", "grad_cam_plus_plus", "integrated_gradients",
    "make_quadrant_blobs", "overlay", "pointing_game", "resolve_layer", "saliency",
    "smooth_grad", "tokens_to_grid", "write_overlays",
    # text
    "BleuScore", "CaptionData", "Vocabulary", "corpus_bleu", "make_digit_strings",
    "make_shape_scenes",
    # data
    "ArrayDataset", "Compose", "DatasetSplit", "Layout", "Normalize", "RandomAffine",
    "RandomHomography", "Resize", "images_to_tensor", "load_digits", "load_faces", "make_shapes",
    "masks_to_tensor",
    "stratified_split", "tensor_to_images",
    # scenes
    "DetectionScenes", "SCENE_SHAPES", "make_detection_scenes",
    # train
    "Checkpoint", "DEFAULT_MAX_CHECKPOINT_BYTES", "EpochStats", "EvalResult", "FitResult",
    "evaluate", "fit", "load_checkpoint", "one_thread", "save_checkpoint", "seed_everything",
    "select_device",
}


def test_deep_all_matches_checked_in_list():
    import inspect

    import deep

    assert set(deep.__all__) == DEEP_ALL
    assert len(deep.__all__) == len(set(deep.__all__))
    for name in deep.__all__:
        obj = getattr(deep, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"deep.{name} has no docstring"


def test_application_names_left_the_top_level_with_a_deprecation_path():
    """batch and gallery are the application: submodules, not star-exported; their old
    top-level names work for one release and warn with the new home."""
    import cvgeo.batch
    import cvgeo.gallery

    moved = {"run_batch": cvgeo.batch, "BatchResult": cvgeo.batch,
             "BatchFailure": cvgeo.batch, "build_gallery": cvgeo.gallery,
             "GalleryResult": cvgeo.gallery}
    for name, module in moved.items():
        assert name not in cvgeo.__all__
        with pytest.warns(DeprecationWarning, match=rf"use {module.__name__}\.{name}$"):
            assert getattr(cvgeo, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        cvgeo.no_such_name  # noqa: B018


def test_import_cvgeo_does_not_load_the_application():
    code = ("import sys, cvgeo; print(sorted(m for m in ('cvgeo.batch', 'cvgeo.gallery', "
            "'cvgeo.cli') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
