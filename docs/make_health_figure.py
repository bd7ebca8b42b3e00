"""Draw the README's SSL-health figure with the report's figure code (hpe_core.report.health_figures).

    PYTHONPATH=. python3 docs/make_health_figure.py

reads the events of the two runs of the README's "SSL health" section: the SimSiam demo preset
without its stop-gradient (tests/fixtures/events/simsiam_collapse.jsonl) and with it
(docs/health_simsiam_stop_gradient.jsonl), and writes docs/health_collapse.png.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUNS = {"no stop-gradient": ROOT / "tests" / "fixtures" / "events" / "simsiam_collapse.jsonl",
        "stop-gradient": ROOT / "docs" / "health_simsiam_stop_gradient.jsonl"}


def main() -> None:
    from hpe_core.report.health_figures import save_health_figure

    runs = {label: [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            for label, path in RUNS.items()}
    with tempfile.TemporaryDirectory() as folder:
        save_health_figure(runs, Path(folder), "health_collapse")
        shutil.copy(Path(folder) / "2col" / "health_collapse.png", ROOT / "docs" / "health_collapse.png")
    print(ROOT / "docs" / "health_collapse.png")


if __name__ == "__main__":
    main()
