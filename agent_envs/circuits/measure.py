"""Measurements: turn simulated vectors into named numbers, robustly.

Every measurement kind is a small function of the vectors. A quantity that does not
exist for a design (no unity-gain crossing, a step the output never follows) is
``None``, the "not met" value; nothing here raises on odd data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from agent_envs.circuits.circuit import Measurement
from agent_envs.circuits.rawfile import Vectors

__all__ = ["measure_all", "MEASUREMENT_KINDS", "run_failure"]


def _vector(vectors: Vectors, ref: str) -> np.ndarray | None:
    plot, _, name = ref.partition(":")
    return vectors.get(plot, {}).get(name)


def _freq(vectors: Vectors) -> np.ndarray | None:
    return vectors.get("ac", {}).get("frequency")


def _db(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.maximum(np.abs(x), 1e-300))


def _low_freq_gain_db(vectors: Vectors, m: Measurement) -> float | None:
    """|H| in dB at the sweep's first frequency: the DC gain when the sweep starts decades
    below every pole (the testbenches sweep from 1 uHz)."""
    h = _vector(vectors, m.vector)
    return None if h is None or len(h) == 0 else float(_db(h[:1])[0])


def _dc_phase(h: np.ndarray) -> float:
    """The DC phase in degrees: 0 or 180. A DC transfer function is real, so the phase at the
    sweep's first frequency (decades below every pole) is snapped to its nearest multiple of
    180 degrees, removing the residual of a pole that is not infinitely far away."""
    return float(180.0 * np.round(np.degrees(np.angle(h[0])) / 180.0))


def _unity_crossing(vectors: Vectors, m: Measurement) -> tuple[float, float] | None:
    """(frequency, unwrapped phase in degrees) where |H| first falls through 0 dB.

    Magnitude (dB) and unwrapped phase are interpolated linearly in log frequency between
    the two sweep points around the crossing. None when the gain starts below 0 dB or
    never falls through it.
    """
    h, f = _vector(vectors, m.vector), _freq(vectors)
    if h is None or f is None or len(h) < 2:
        return None
    mag = _db(h)
    phase = np.degrees(np.unwrap(np.angle(h)))
    below = np.nonzero((mag[:-1] >= 0.0) & (mag[1:] < 0.0))[0]
    if mag[0] < 0.0 or len(below) == 0:
        return None
    i = int(below[0])
    x0, x1 = np.log10(f[i]), np.log10(f[i + 1])
    t = mag[i] / (mag[i] - mag[i + 1])
    return float(10 ** (x0 + t * (x1 - x0))), float(phase[i] + t * (phase[i + 1] - phase[i]))


def _unity_gain_frequency(vectors: Vectors, m: Measurement) -> float | None:
    crossing = _unity_crossing(vectors, m)
    return None if crossing is None else crossing[0]


def _wrap_degrees(x: float) -> float:
    """``x`` wrapped into (-180, 180]."""
    y = (x + 180.0) % 360.0 - 180.0
    return 180.0 if y == -180.0 else y


def _phase_margin(vectors: Vectors, m: Measurement) -> float | None:
    """``180 + (phase(UGF) - phase(DC))`` wrapped into (-180, 180] degrees.

    ``phase(UGF) - phase(DC)`` is the phase the loop has accumulated between DC and the
    unity-gain frequency (unwrapped along the sweep); a negative margin is an unstable
    unity-gain loop.
    """
    crossing = _unity_crossing(vectors, m)
    if crossing is None:
        return None
    return _wrap_degrees(180.0 + (crossing[1] - _dc_phase(_vector(vectors, m.vector))))


def _rejection_db(vectors: Vectors, m: Measurement) -> float | None:
    h, ref = _vector(vectors, m.vector), _vector(vectors, m.reference or "")
    if h is None or ref is None or len(h) == 0 or len(ref) == 0:
        return None
    return float(_db(h[:1])[0] - _db(ref[:1])[0])


def _supply_power(vectors: Vectors, m: Measurement) -> float | None:
    current, voltage = _vector(vectors, m.vector), _vector(vectors, m.reference or "")
    if current is None or voltage is None or len(current) == 0 or len(voltage) == 0:
        return None
    return float(abs(np.real(current[0]) * np.real(voltage[0])))


def _crossing_time(
    t: np.ndarray, v: np.ndarray, level: float, rising: bool, after: int
) -> float | None:
    """First time at or after index ``after`` where ``v`` passes ``level`` (interpolated)."""
    passed = (v >= level) if rising else (v <= level)
    passed[:after] = False
    if not passed.any():
        return None
    j = int(np.argmax(passed))
    if j == 0 or v[j] == v[j - 1]:
        return float(t[j])
    frac = (level - v[j - 1]) / (v[j] - v[j - 1])
    return float(t[j - 1] + frac * (t[j] - t[j - 1]))


def _first_pass(t: np.ndarray, v: np.ndarray, level: float, rising: bool) -> float | None:
    """First time ``v`` is at or beyond ``level`` (interpolated between samples); ``t[0]``
    when it already is at the first sample; None when it never gets there."""
    passed = (v >= level) if rising else (v <= level)
    if not passed.any():
        return None
    j = int(np.argmax(passed))
    if j == 0:
        return float(t[0])
    frac = (level - v[j - 1]) / (v[j] - v[j - 1])
    return float(t[j - 1] + frac * (t[j] - t[j - 1]))


def _edge_time(t: np.ndarray, v: np.ndarray, low: float, high: float, rising: bool) -> float | None:
    """Time from the 10 % to the 90 % level of the ideal excursion ``low -> high`` (or back)."""
    step = high - low
    start, end = (low, high) if rising else (high, low)
    t10 = _first_pass(t, v, start + 0.1 * (end - start), rising)
    if t10 is None:
        return None
    after = t >= t10
    t90 = _first_pass(t[after], v[after], start + 0.9 * (end - start), rising)
    if t90 is None or t90 <= t10 or step == 0:
        return None
    return t90 - t10


def _slew_rate(vectors: Vectors, m: Measurement) -> float | None:
    """Slew rate of a buffer driven by a step ``low -> high`` at ``rise_at`` and back at
    ``fall_at`` (options, s): ``0.8 * (high - low) / (t90 - t10)`` in V/us between the fixed
    10 % and 90 % levels of the step's ideal excursion, the slower of rise and fall.

    Each edge is searched from its input step's start to the next step (or the end); None
    when the output never reaches a level in that window (a dead, stuck or too slow design).
    """
    tv = _tran(vectors, m)
    if tv is None:
        return None
    t, v = tv
    low, high = float(m.options["low"]), float(m.options["high"])
    rise_at = float(m.options.get("rise_at", t[0]))
    fall_at = float(m.options.get("fall_at", t[0] + (t[-1] - t[0]) / 2.0))
    rise_window, fall_window = (t >= rise_at) & (t < fall_at), t >= fall_at
    rise = _edge_time(t[rise_window], v[rise_window], low, high, rising=True)
    fall = _edge_time(t[fall_window], v[fall_window], low, high, rising=False)
    if rise is None or fall is None:
        return None
    return float(0.8 * abs(high - low) / max(rise, fall) * 1e-6)


def _spot_value(vectors: Vectors, m: Measurement) -> float | None:
    v = _vector(vectors, m.vector)
    if v is None or len(v) == 0:
        return None
    return float(abs(v[0]) * m.options.get("scale", 1.0))


def _tran(vectors: Vectors, m: Measurement) -> tuple[np.ndarray, np.ndarray] | None:
    v, t = _vector(vectors, m.vector), vectors.get("tran", {}).get("time")
    if v is None or t is None or len(v) < 3 or len(v) != len(t):
        return None
    return np.real(t), np.real(v)


def _peak_deviation(vectors: Vectors, m: Measurement) -> float | None:
    """Largest ``|v(t) - v(start)|`` for ``start <= t <= stop`` (options, s), times ``scale``."""
    tv = _tran(vectors, m)
    if tv is None:
        return None
    t, v = tv
    after = (t >= m.options.get("start", float(t[0]))) & (t <= m.options.get("stop", float(t[-1])))
    if not after.any():
        return None
    v = v[after]
    return float(np.max(np.abs(v - v[0])) * m.options.get("scale", 1.0))


def _crossing_delay(vectors: Vectors, m: Measurement) -> float | None:
    """Time from ``reference`` crossing ``ref_level`` to ``vector`` crossing ``level``.

    Options ``ref_rising`` / ``rising`` (1: rising edge, 0: falling; default 1),
    ``start`` (ignore reference crossings before this time, s) and ``scale``; None when
    either crossing never happens.
    """
    tv, ref = _tran(vectors, m), _vector(vectors, m.reference or "")
    if tv is None or ref is None or len(ref) != len(tv[0]):
        return None
    t, v = tv
    ref = np.real(ref)
    first = int(np.searchsorted(t, m.options.get("start", float(t[0]))))
    t0 = _crossing_time(t, ref, m.options["ref_level"], bool(m.options.get("ref_rising", 1)), first)
    if t0 is None:
        return None
    start = int(np.searchsorted(t, t0))
    t1 = _crossing_time(t, v, m.options["level"], bool(m.options.get("rising", 1)), start)
    return None if t1 is None else float((t1 - t0) * m.options.get("scale", 1.0))


def _average(vectors: Vectors, m: Measurement) -> float | None:
    """``|time average|`` of a transient vector over ``t >= start`` (option), times ``scale``."""
    tv = _tran(vectors, m)
    if tv is None:
        return None
    t, v = tv
    keep = t >= m.options.get("start", float(t[0]))
    t, v = t[keep], v[keep]
    if len(t) < 2 or t[-1] <= t[0]:
        return None
    mean = np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(t)) / (t[-1] - t[0])
    return float(abs(mean) * m.options.get("scale", 1.0))


def _box_tc_ppm(vectors: Vectors, m: Measurement) -> float | None:
    """Box-method drift over a DC sweep: ``(max - min) / (|mean| * sweep span)`` in ppm/unit.

    ``reference`` is the swept variable (e.g. ``dc:temp-sweep`` for ``.dc temp ...``).
    """
    v, x = _vector(vectors, m.vector), _vector(vectors, m.reference or "")
    if v is None or x is None or len(v) < 2 or len(v) != len(x):
        return None
    v, x = np.real(v), np.real(x)
    span, mean = float(np.max(x) - np.min(x)), float(np.mean(v))
    if span <= 0 or mean == 0:
        return None
    return float((np.max(v) - np.min(v)) / (abs(mean) * span) * 1e6)


#: kind -> function(vectors, measurement) -> float or None
MEASUREMENT_KINDS: dict[str, Callable[[Vectors, Measurement], float | None]] = {
    "low_freq_gain_db": _low_freq_gain_db,
    "unity_gain_frequency": _unity_gain_frequency,
    "phase_margin": _phase_margin,
    "rejection_db": _rejection_db,
    "supply_power": _supply_power,
    "slew_rate": _slew_rate,
    "spot_value": _spot_value,
    "peak_deviation": _peak_deviation,
    "crossing_delay": _crossing_delay,
    "average": _average,
    "box_tc_ppm": _box_tc_ppm,
}


_FAILURE_MARKERS = (
    "simulation(s) aborted",
    "too many iterations without convergence",
    "timestep too small",
    "singular matrix",
    "gmin stepping failed",
    "source stepping failed",
)


def run_failure(vectors: Vectors, analyses: Sequence[str], log: str) -> str | None:
    """Why a run failed (an analysis without data, a convergence note), or None.

    Example:
        >>> run_failure({"op": {}}, ["op", "ac"], "")
        'no results for ac'
        >>> run_failure({"op": {}}, ["op"], "doAnalyses: Too many iterations without convergence")
        'did not converge (too many iterations without convergence)'
    """
    missing = [a for a in analyses if a not in vectors]
    if missing:
        return f"no results for {', '.join(missing)}"
    lowered = log.lower()
    for marker in _FAILURE_MARKERS:
        if marker in lowered:
            return f"did not converge ({marker})"
    return None


def measure_all(vectors: Vectors, measurements: Sequence[Measurement]) -> dict[str, float | None]:
    """Apply every measurement; a failing or non-finite one gives ``None``.

    A measurement with the option ``valid_min`` or ``valid_max`` gives ``None`` outside
    that range (e.g. a buffer that rings by more than ``valid_max`` has no settled value).

    Example:
        >>> f = np.logspace(0, 9, 91)
        >>> h = 1000 / (1 + 1j * f / 1e3)  # 60 dB, one pole at 1 kHz: UGB ~ 1 MHz, PM ~ 90
        >>> m = [Measurement("gain", "dB", "low_freq_gain_db", "ac:out"),
        ...      Measurement("ugbw", "Hz", "unity_gain_frequency", "ac:out"),
        ...      Measurement("pm", "deg", "phase_margin", "ac:out")]
        >>> r = measure_all({"ac": {"frequency": f, "out": h}}, m)
        >>> round(r["gain"]), round(r["ugbw"] / 1e6, 2), round(r["pm"])
        (60, 1.0, 90)
        >>> measure_all({}, m)
        {'gain': None, 'ugbw': None, 'pm': None}
        >>> t = np.linspace(0.0, 1e-6, 201)
        >>> ring = 1.0 + 0.02 * np.sin(2e7 * t)  # 20 mV of ringing
        >>> m = Measurement("ringing", "mV", "peak_deviation", "tran:out", options={"scale": 1e3})
        >>> round(measure_all({"tran": {"time": t, "out": ring}}, [m])["ringing"])
        20
        >>> m.options["valid_max"] = 10.0  # more than 10 mV: not settled, no value
        >>> measure_all({"tran": {"time": t, "out": ring}}, [m])
        {'ringing': None}
    """
    out: dict[str, float | None] = {}
    for m in measurements:
        try:
            value = MEASUREMENT_KINDS[m.kind](vectors, m)
        except Exception:  # odd data must never crash a step
            value = None
        if value is not None and not (
            np.isfinite(value)
            and m.options.get("valid_min", -np.inf) <= value <= m.options.get("valid_max", np.inf)
        ):
            value = None
        out[m.name] = value
    return out
