"""Open a folder's workspace: its database, settings, folder scan, what the detector sees, and the gallery's queries."""
