"""Colour drift along a chain: each shot's mean colour (Lab) against the chain's first shot.

Measured per take (its mean Lab, from the analysis frames), judged per chain: a shot whose
Delta E (CIE76) from the chain's first shot has grown shot by shot along the path to it,
over at least ``drift_min_shots`` shots, up to ``drift_max_delta_e`` or more, drifts
steadily: a fail. Any other distance is reported, not failed (a cut in the light is a choice).
"""

from __future__ import annotations

import numpy as np

from nava_director.checks.result import CheckResult, Status, not_run
from nava_director.checks.thresholds import Thresholds

NAME = "drift"
_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def mean_lab(frames: np.ndarray) -> list[float]:
    """The mean CIE Lab (D65) of uint8 sRGB frames [..., 3]."""
    rgb = frames.reshape(-1, 3).astype(np.float64) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)
    return [round(float(v), 3) for v in lab.mean(axis=0)]


def chain_drift(parents: dict[str, str | None], labs: dict[str, list[float]],
                thresholds: Thresholds = Thresholds()) -> dict[str, CheckResult]:  # fmt: skip
    """Each shot's drift result; ``parents``: shot -> the shot it continues (None: a chain's first)."""
    out: dict[str, CheckResult] = {}
    for shot in parents:
        path = [shot]
        while parents.get(path[-1]):
            path.append(parents[path[-1]])
        path.reverse()
        if len(path) == 1:
            out[shot] = not_run(NAME, "the shot starts its chain" if shot in labs else "no take measured")
            continue
        if any(p not in labs for p in path):
            out[shot] = not_run(NAME, "a shot of its chain has no take")
            continue
        first = np.array(labs[path[0]])
        distances = [float(np.linalg.norm(np.array(labs[p]) - first)) for p in path]
        distance = distances[-1]
        steady = (len(path) >= thresholds.drift_min_shots and all(b > a for a, b in zip(distances, distances[1:]))
                  and distance >= thresholds.drift_max_delta_e)  # fmt: skip
        trail = " → ".join(f"{d:.1f}" for d in distances[1:])
        if steady:
            out[shot] = CheckResult(NAME, Status.FAIL, f"the colour drifts steadily from {path[0]}: Delta E {trail}",
                                    round(distance, 2), thresholds.drift_max_delta_e, "Delta E")  # fmt: skip
        else:
            out[shot] = CheckResult(NAME, Status.PASS, f"Delta E {distance:.1f} from {path[0]}, no steady drift",
                                    round(distance, 2), thresholds.drift_max_delta_e, "Delta E")  # fmt: skip
    return out
