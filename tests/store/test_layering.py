from tests.fresh_python import loaded_after_importing


def test_store_and_review_services_load_without_torch_or_qt():
    """The store never imports torch, and nothing below ui imports Qt: a headless server can use them."""
    services = [
        "zsad_desktop.store",
        "zsad_desktop.app.workspace.workspace",
        "zsad_desktop.app.workspace.scanning",
        "zsad_desktop.app.review.decisions",
        "zsad_desktop.app.prediction.workspace_predictions",
        "zsad_desktop.app.training.model_versions",
        "zsad_desktop.app.exports",
    ]
    assert loaded_after_importing(services, ("torch", "PySide6", "open_clip")) == []
