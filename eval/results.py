"""An evaluation's result on disk: the JSON, and its chart beside it (same name, .png)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def write(result: dict, path: Path, plot: Callable[[dict, Path], None]) -> Path:
    """Write `result` as JSON to `path` and `plot(result, chart)` next to it; the chart's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    chart = path.with_suffix(".png")
    plot(result, chart)
    return chart
