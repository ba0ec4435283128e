"""Predict images: cached per workspace, whole folders to files, large images by tiles, on one job queue."""
