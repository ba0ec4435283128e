"""The use cases, without Qt: workspace, prediction, viewer, review, training, exports (one room each)."""
