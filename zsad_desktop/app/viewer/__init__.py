"""What the review window shows and edits, without Qt: image layers, window/level, heatmap, proposal, mask edits."""
