"""The lecture-table experiment runs end to end (``--quick``: a tiny corpus and 2 epochs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_quick_run_writes_the_table_and_the_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SPEECHFORGE_NO_PROGRESS": "1"}
    script = ROOT / "experiments" / "asr_data_vs_lm.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "python experiments/asr_data_vs_lm.py --quick" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "WER" not in line]
    assert len(rows) == 6  # 3 sizes × (greedy, beam + LM)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]
    sizes = [r["utterances"] for r in results]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # nested, growing amounts of labeled data
    for r in results:
        assert r["dev_wer"] >= 0.0 and r["test_wer"] >= 0.0
    assert (out / "lm_3gram.arpa").is_file()
