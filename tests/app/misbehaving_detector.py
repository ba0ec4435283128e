"""A tiny detector that misbehaves on images of given sizes, built in Ray's worker processes through a
recipe's `factory`: its process dies (as on out of memory or a decoder crash) or it hangs (a stuck read)."""

from __future__ import annotations

import os
import time

from zsad_desktop.detection.interface import create_detector

CRASH_SIDE = 77  # an image 77 px high kills the process scoring it
STUCK_SIDE = 78  # an image 78 px high never finishes


def build(device: str = "cpu", **settings):
    detector = create_detector("baseline", device=device, **settings)
    predict = detector.predict

    def misbehaving(images):
        sides = {image.shape[0] for image in images}
        if CRASH_SIDE in sides:
            os._exit(3)
        if STUCK_SIDE in sides:
            time.sleep(3600)
        return predict(images)

    detector.predict = misbehaving
    return detector


def build_lost_for_good(device: str = "cpu", **settings):
    """Kills its process on every image, and again on each restart before it holds a model: an actor
    that Ray restarts until its restarts are spent, as on a node that keeps failing."""
    import ray

    context = ray.get_runtime_context()
    if context.get_actor_id() is not None and context.was_current_actor_reconstructed:
        os._exit(3)
    return build(device, **settings)
