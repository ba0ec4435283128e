import subprocess
import sys


def test_store_and_review_services_load_without_torch_or_qt():
    """The store never imports torch, and nothing below ui imports Qt: a headless server can use them."""
    code = (
        "import sys\n"
        "import zsad_desktop.store, zsad_desktop.app.workspace.workspace, zsad_desktop.app.workspace.scanning, zsad_desktop.app.review.decisions\n"
        "import zsad_desktop.app.prediction.workspace_predictions, zsad_desktop.app.training.model_versions, zsad_desktop.app.exports\n"
        "print(sorted(m for m in ('torch', 'PySide6', 'open_clip') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
