"""benchmarks/gpu's modules import each other by bare name (they run as scripts): make them importable."""

from __future__ import annotations

import sys
from pathlib import Path

GPU = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu"
if str(GPU) not in sys.path:
    sys.path.insert(0, str(GPU))
