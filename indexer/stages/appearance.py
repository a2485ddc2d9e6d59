"""Colour descriptors of detected objects, so the graph can link sightings of one person.

A crop is split into its upper and lower half (roughly: top and trousers of a standing
person) and each half gets a hue-saturation histogram of its central part (the box's
edges are mostly background). Both halves are L1-normalised and concatenated, 64 numbers
in all; two descriptors compare by histogram intersection (``graph.people``). Cheap
(a fraction of a millisecond per box) and needs no model; a re-identification network
would be better and can replace it behind the same column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

HUE_BINS, SAT_BINS = 8, 4
MIN_SIDE_PX = 8  # crops smaller than this carry no usable colour


def descriptor(
    image: np.ndarray, box: tuple[float, float, float, float]
) -> tuple[float, ...] | None:
    """Descriptor of the normalised box ``(x1, y1, x2, y2)`` in an RGB frame, or None when
    the crop is too small."""
    import cv2

    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    # Central 60% of the width, the whole height: less background beside the body.
    cx1, cx2 = int(w * (x1 + 0.2 * (x2 - x1))), int(w * (x2 - 0.2 * (x2 - x1)))
    cy1, cy2 = int(h * y1), int(h * y2)
    if cx2 - cx1 < MIN_SIDE_PX or cy2 - cy1 < 2 * MIN_SIDE_PX:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(image[cy1:cy2, cx1:cx2]), cv2.COLOR_RGB2HSV)
    mid = hsv.shape[0] // 2
    parts = []
    for half in (hsv[:mid], hsv[mid:]):
        hist = cv2.calcHist([half], [0, 1], None, [HUE_BINS, SAT_BINS], [0, 180, 0, 256])
        hist = hist.flatten()
        parts.append(hist / max(float(hist.sum()), 1.0))
    return tuple(round(float(v), 5) for v in np.concatenate(parts))


def mean_descriptor(found: Sequence[tuple[float, ...] | None]) -> list[float] | None:
    vecs = [np.asarray(v, np.float32) for v in found if v is not None]
    if not vecs:
        return None
    return [round(float(v), 5) for v in np.mean(vecs, axis=0)]
