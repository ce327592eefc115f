"""Public-health surveillance: outbreak detection on count series and the reproduction number.

Each algorithm equals its reference implementation, R ``surveillance`` (EARS C1–C3,
Farrington flexible with the package's and Noufaily's settings, the GLR CUSUM ``glrnb``) and
``EpiEstim`` (Cori's R_t): same defaults, same numbers (tests/surveil compares with the
packages' own output). Pure numpy/scipy; nothing here reads the lake or the catalog.
"""

from medlake.surveil.detect import METHODS, detect, detection_frame
from medlake.surveil.rt import RtConfig, estimate_r
from medlake.surveil.series import Series, SurveilError, parse_series, read_series

__all__ = [
    "METHODS",
    "RtConfig",
    "Series",
    "SurveilError",
    "detect",
    "detection_frame",
    "estimate_r",
    "parse_series",
    "read_series",
]
