"""Object detection: anchors and default boxes, the box coder, matchers, losses, metrics.

Layout: ``anchors.py`` (grid anchors, SSD default boxes, :class:`BoxCoder`),
``matching.py`` (IoU :class:`Matcher`, hard negative mining, DETR's
:class:`HungarianMatcher`), ``losses.py`` (focal loss), ``metrics.py`` (VOC and COCO AP,
precision-recall plots), ``yolo.py`` (a YOLOv1-style grid detector, its loss, target
encoding and decoding), ``ssd.py`` (an SSD-style multi-level detector with hard negative
mining or focal loss), ``two_stage.py`` (a small Faster R-CNN: RPN, proposals, RoI Align
head), ``detr.py`` (DETR-style set prediction with object queries and the Hungarian
loss). Box geometry (IoU, NMS, formats) is :mod:`cvgeo.geometry.boxes` and RoI pooling
is :mod:`deep.layers.roi`.
"""

from deep.models.detection.anchors import (
    BoxCoder,
    anchors_per_cell,
    grid_anchors,
    ssd_default_boxes,
)
from deep.models.detection.detr import (
    DETR,
    DETRLoss,
    DETRLossParts,
    DETROutput,
    boxes_from_normalized,
    boxes_to_normalized,
    decode_detr,
)
from deep.models.detection.losses import sigmoid_focal_loss
from deep.models.detection.matching import (
    HungarianMatch,
    HungarianMatcher,
    Matcher,
    hard_negative_mining,
)
from deep.models.detection.metrics import (
    COCO_AREA_RANGES,
    CocoEval,
    Detections,
    GroundTruth,
    VocEval,
    evaluate_coco,
    evaluate_voc,
    plot_precision_recall,
    precision_recall_image,
    voc_ap,
)
from deep.models.detection.ssd import SSD, SSDLoss, SSDLossParts, SSDOutput, decode_ssd
from deep.models.detection.two_stage import (
    FasterRCNN,
    FasterRCNNLossParts,
    FasterRCNNOutput,
    RPNOutput,
    decode_faster_rcnn,
    rpn_proposals,
)
from deep.models.detection.yolo import (
    YOLOv1,
    YOLOv1Loss,
    YOLOv1LossParts,
    decode_yolo_v1,
    encode_yolo_v1_targets,
)

__all__ = [
    "BoxCoder", "COCO_AREA_RANGES", "CocoEval", "Detections", "GroundTruth", "HungarianMatch",
    "HungarianMatcher", "Matcher", "VocEval", "anchors_per_cell", "evaluate_coco",
    "evaluate_voc", "grid_anchors", "hard_negative_mining", "plot_precision_recall",
    "precision_recall_image", "sigmoid_focal_loss", "ssd_default_boxes", "voc_ap",
    "YOLOv1", "YOLOv1Loss", "YOLOv1LossParts", "decode_yolo_v1", "encode_yolo_v1_targets",
    "SSD", "SSDLoss", "SSDLossParts", "SSDOutput", "decode_ssd",
    "FasterRCNN", "FasterRCNNLossParts", "FasterRCNNOutput", "RPNOutput", "decode_faster_rcnn",
    "rpn_proposals",
    "DETR", "DETRLoss", "DETRLossParts", "DETROutput", "boxes_from_normalized",
    "boxes_to_normalized", "decode_detr",
]
