"""Retraining on reviews, model versions (promote, roll back), held-out and benchmark evaluation."""
