"""The command itself: entry points, the one-line error contract, and the environment check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_console_script_and_module_entry_point_show_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "speechforge", "data", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for command in ("synth", "import", "split", "check"):
        assert command in proc.stdout


def test_user_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "speechforge", "data", "split", str(missing), "--out", str(tmp_path / "s")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert str(missing) in lines[0] and "not found" in lines[0]


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "speechforge",
            "--debug",
            "data",
            "split",
            str(missing),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "ManifestError" in proc.stderr


def test_environment_check_passes_here() -> None:
    """torchaudio absent and torch pinned: the same script `make test` runs first."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_environment.py")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "no torchaudio" in proc.stdout


def test_data_commands_do_not_import_torch() -> None:
    """Start-up cost: commands that do not train must not pay for importing torch."""
    code = "import sys, speechforge.cli; import speechforge.data; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
