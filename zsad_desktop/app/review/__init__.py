"""The review loop: recording decisions, the session the window drives, and the reviewer's settings."""
