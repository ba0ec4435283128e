"""Export reviewed masks: MVTec AD layout (+ anomalib config), COCO, reports, DICOM SEG."""

# Only reviewer decisions are exported, never unreviewed proposals. File names
# come from image paths made safe: no export writes outside its target folder.

from zsad_desktop.app.exports.chosen import LAYOUTS, ExportChoice, ExportSummary, run_export
from zsad_desktop.app.exports.coco import export_coco, region_annotations
from zsad_desktop.app.exports.mvtec import ANOMALY_LABEL, ExportReport, export_mvtec
from zsad_desktop.app.exports.names import UniqueNames, inside, safe_name
from zsad_desktop.app.exports.report import REPORT_FIELDS, export_report, review_report
from zsad_desktop.app.exports.reviewed import DECIDED, ReviewedImage, reviewed_images

__all__ = [
    "LAYOUTS",
    "ExportChoice",
    "ExportSummary",
    "run_export",
    "ANOMALY_LABEL",
    "DECIDED",
    "ExportReport",
    "REPORT_FIELDS",
    "ReviewedImage",
    "UniqueNames",
    "export_coco",
    "export_mvtec",
    "export_report",
    "inside",
    "region_annotations",
    "review_report",
    "reviewed_images",
    "safe_name",
]
