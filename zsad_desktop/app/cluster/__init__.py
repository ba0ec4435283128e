"""Score a workspace's folder on a Ray cluster (one actor per GPU or CPU slot) into its shared database."""
