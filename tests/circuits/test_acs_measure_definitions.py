"""The ACS measurement definitions on synthetic responses with closed-form answers.

Phase margin: for ``H = A0 / prod(1 + j f / p_k)`` the unity-gain frequency solves
``|H| = 1`` (found here by bisection on the formula) and the margin is
``180 - sum(atan(fu / p_k))``, negative when the poles take more than 180 deg; an inverting
``-H`` has the same margin. Slew: a ramp of known slope, with or without ringing, gives
that slope between the fixed 10 % / 90 % levels; an output that stops short of a level
gives None.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent_envs.circuits.circuit import Measurement
from agent_envs.circuits.measure import measure_all

AC = [
    Measurement("gain", "dB", "low_freq_gain_db", "ac:out"),
    Measurement("ugbw", "Hz", "unity_gain_frequency", "ac:out"),
    Measurement("pm", "deg", "phase_margin", "ac:out"),
]
FREQ = np.logspace(-6, 10, 16 * 20 + 1)  # the testbenches' sweep: 1 uHz - 10 GHz, 20/decade


def _response(a0: float, poles: list[float], sign: float = 1.0) -> np.ndarray:
    h = np.full(FREQ.shape, sign * a0, dtype=complex)
    for p in poles:
        h /= 1 + 1j * FREQ / p
    return h


def _closed_form(a0: float, poles: list[float]) -> tuple[float, float]:
    def mag(f: float) -> float:
        return a0 / math.prod(math.hypot(1.0, f / p) for p in poles)

    lo, hi = 1e-6, 1e10
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if mag(mid) > 1 else (lo, mid)
    fu = math.sqrt(lo * hi)
    pm = 180.0 - sum(math.degrees(math.atan(fu / p)) for p in poles)
    return fu, (pm + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize(
    ("a0", "poles"),
    [
        (1e4, [1e3, 3e7]),  # two poles: a textbook 60-70 deg
        (1e6, [0.05, 2e6, 5e6]),  # dominant pole far below 1 Hz
        (1e8, [1e-3, 1e5, 2e5, 3e5]),  # four poles: the margin is negative
    ],
)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_phase_margin_from_the_dc_phase(a0: float, poles: list[float], sign: float) -> None:
    fu, pm = _closed_form(a0, poles)
    m = measure_all({"ac": {"frequency": FREQ, "out": _response(a0, poles, sign)}}, AC)
    assert m["gain"] == pytest.approx(20 * math.log10(a0), abs=0.01)
    assert m["ugbw"] == pytest.approx(fu, rel=0.005)
    assert m["pm"] == pytest.approx(pm, abs=1.0)
    assert -180.0 < m["pm"] <= 180.0


def test_no_crossing_gives_none() -> None:
    m = measure_all({"ac": {"frequency": FREQ, "out": _response(0.5, [1e3])}}, AC)
    assert m["ugbw"] is None and m["pm"] is None


SLEW = Measurement(
    "slew",
    "V/us",
    "slew_rate",
    "tran:out",
    options={"low": 1.0, "high": 2.0, "rise_at": 0.1e-6, "fall_at": 2.1e-6},
)
T = np.linspace(0.0, 4e-6, 40001)


def _buffer(rate: float, top: float = 2.0, ring: float = 0.0) -> np.ndarray:
    """Output that slews at ``rate`` (V/s) to ``top`` and back, optionally ringing."""
    up = np.clip(1.0 + rate * (T - 0.1e-6), 1.0, top)
    down = np.clip(top - rate * (T - 2.1e-6), 1.0, top)
    v = np.where(T < 2.1e-6, up, down)
    settle_up = np.clip(T - (0.1e-6 + (top - 1.0) / rate), 0.0, None)
    return v + ring * np.sin(2e8 * settle_up) * np.exp(-settle_up / 1e-7) * (T < 2.1e-6)


def test_slew_is_the_ramp_slope_between_fixed_levels() -> None:
    m = measure_all({"tran": {"time": T, "out": _buffer(5e6)}}, [SLEW])
    assert m["slew"] == pytest.approx(5.0, rel=1e-3)
    ringing = measure_all({"tran": {"time": T, "out": _buffer(5e6, ring=0.3)}}, [SLEW])
    assert ringing["slew"] == pytest.approx(5.0, rel=1e-3)  # overshoot does not slow it


def test_an_output_that_stops_short_has_no_slew() -> None:
    stuck = measure_all({"tran": {"time": T, "out": _buffer(5e6, top=1.85)}}, [SLEW])
    assert stuck["slew"] is None  # never reaches the 90 % level (1.9 V)
    dead = measure_all({"tran": {"time": T, "out": np.full(T.shape, 1.0)}}, [SLEW])
    assert dead["slew"] is None
