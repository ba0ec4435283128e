"""The review store: SQLAlchemy schema, sessions and migrations; pixels on disk.

The database holds facts (paths, hashes, scores, review states, who and when,
model versions); files hold pixels (masks as PNG, heatmaps as compressed
float16 arrays). No torch and no Qt here.
"""

from zsad_desktop.store.database import Database, display_url, open_database, sqlite_url
from zsad_desktop.store.errors import NewerSchemaError, StoreError
from zsad_desktop.store.files import PixelFiles
from zsad_desktop.store.schema import (
    Image,
    ModelActivation,
    ModelVersion,
    Prediction,
    Review,
    ReviewEvent,
    ReviewStatus,
    Setting,
    TrainingRun,
    TrainingStatus,
)

__all__ = [
    "Database",
    "display_url",
    "open_database",
    "sqlite_url",
    "NewerSchemaError",
    "StoreError",
    "PixelFiles",
    "Image",
    "ModelActivation",
    "ModelVersion",
    "Prediction",
    "Review",
    "ReviewEvent",
    "ReviewStatus",
    "Setting",
    "TrainingRun",
    "TrainingStatus",
]
