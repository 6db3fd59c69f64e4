"""RUN/report.html from a real trained run: self-contained, escaped, and rendered by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from speechforge.data.manifest import read_manifest
from speechforge.diagnosis import diagnose
from speechforge.diagnosis.report import report_from_run, write_report
from speechforge.errors import SpeechforgeError
from speechforge.training.run import RunDir

CHROMIUM_TIMEOUT = 60


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    """The session's trained run (best.ckpt only), copied so that diagnosis.json/report.html stay local."""
    dest = tmp_path / "digits"
    shutil.copytree(trained_run, dest, ignore=shutil.ignore_patterns("last.ckpt", "eval", "learning_curve"))
    return dest


def hand_made_errors(run: Path) -> dict[str, Any]:
    test = read_manifest(RunDir(run).recipe().data.test)
    utt = test[0]
    wrong = "<script>alert(1)</script>"
    return {
        "manifest": str(test.path),
        "utterances": len(test),
        "errors": 1,
        "error_rate": 1 / len(test),
        "confused_pairs": [{"true": utt.label, "predicted": wrong, "count": 1, "share_of_errors": 1.0}],
        "slices": {
            "speaker": [{"value": "spk<&>", "utterances": 5, "errors": 1, "error_rate": 0.2, "share_of_errors": 1.0}]
        },
        "worst": [
            {
                "id": utt.id,
                "audio": utt.audio,
                "label": utt.label,
                "predicted": wrong,
                "p_label": 0.01,
                "p_predicted": 0.9,
            }
        ],
    }


def suspects_of(run: Path) -> list[dict[str, Any]]:
    test = read_manifest(RunDir(run).recipe().data.test)
    utt = test[1]
    return [{"id": utt.id, "audio": utt.audio, "label": utt.label, "predicted": "x", "score": 0.02, "split": "test"}]


@pytest.fixture
def report(run_copy: Path) -> tuple[Path, dict[str, Any]]:
    diagnosis = diagnose(run_copy, baseline=0.0, progress=False)
    path = write_report(run_copy, diagnosis, errors=hand_made_errors(run_copy), suspects=suspects_of(run_copy))
    return path, diagnosis


def test_report_is_self_contained(report: tuple[Path, dict[str, Any]], run_copy: Path) -> None:
    path, diagnosis = report
    assert path == run_copy / "report.html"
    html = path.read_text(encoding="utf-8")
    # nothing fetched from the network, no script at all
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert "<link" not in html.lower() and "@import" not in html and "url(" not in html
    # every image is an embedded PNG, one per plot of the run
    images = re.findall(r'<img src="([^"]*)"', html)
    pngs = sorted((run_copy / "plots").rglob("*.png"))
    assert pngs and len(images) == len(pngs)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # the verdict, literally, in #verdict; the table rows and each recommendation's override
    verdict = re.search(r'<span id="verdict"[^>]*>([^<]*)</span>', html)
    assert verdict and verdict.group(1) == ", ".join(diagnosis["verdict"])
    for row in ("baseline error", "train-dev error", "test error", "avoidable bias", "dev overfit", "conclusion"):
        assert row in html
    for rec in diagnosis["recommendations"]:
        if rec["override"]:
            assert f"<code>{rec['override']}</code>" in html
    # the worst error and the suspect each get a player with the wav embedded (short items)
    assert html.count("<audio controls") == 2
    assert len(re.findall(r'<audio controls preload="none" src="data:audio/wav;base64,', html)) == 2
    # user strings are escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "spk&lt;&amp;&gt;" in html
    assert "Error analysis" in html and "Suspected label errors" in html and "Errors by speaker" in html


def test_report_from_run_reads_diagnosis_json(run_copy: Path) -> None:
    with pytest.raises(SpeechforgeError, match="speechforge diagnose"):
        report_from_run(run_copy)
    diagnosis = diagnose(run_copy, progress=False)  # writes RUN/diagnosis.json
    path = report_from_run(run_copy)
    html = path.read_text(encoding="utf-8")
    assert path == run_copy / "report.html"
    assert 'id="verdict"' in html and ", ".join(diagnosis["verdict"]) in html


def test_missing_parts_are_left_out(run_copy: Path, tmp_path: Path) -> None:
    out = write_report(run_copy, {"verdict": ["good"]}, out=tmp_path / "minimal.html")
    html = out.read_text(encoding="utf-8")
    assert '<span id="verdict" class="good">good</span>' in html and "good model" in html
    for part in ("Error analysis", "Suspected label errors", "What to try next", "Learning curve", "<audio"):
        assert part not in html


def test_long_audio_is_linked_not_embedded(run_copy: Path, tmp_path: Path) -> None:
    import soundfile as sf

    long_wav = run_copy / "long.wav"
    sf.write(str(long_wav), np.zeros(16000 * 6, dtype=np.float32), 16000)
    diagnosis = diagnose(run_copy, progress=False, write=False)
    worst = [{"id": "u1", "audio": str(long_wav), "label": "a", "predicted": "b", "p_label": 0.1, "p_predicted": 0.8}]
    out = write_report(run_copy, diagnosis, errors={"worst": worst}, out=tmp_path / "out" / "r.html")
    html = out.read_text(encoding="utf-8")
    assert 'src="../digits/long.wav"' in html and "data:audio" not in html


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (run scripts/install_test_browser.sh as root on Debian to render the report)",
)
def test_report_renders_in_headless_chromium(report: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from PIL import Image

    path, diagnosis = report
    chromium = shutil.which("chromium")
    assert chromium
    base = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "report.png"
    url = path.resolve().as_uri()
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1280,2000", url],
        capture_output=True,
        timeout=CHROMIUM_TIMEOUT,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (2000, 1280)
    non_white = (pixels < 245).any(axis=2).mean()
    assert non_white > 0.02, f"the screenshot is (almost) blank: {non_white:.4f} non-white"

    dom = subprocess.run(
        [*base, "--dump-dom", url], capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False
    ).stdout
    verdict = re.search(r'<span id="verdict"[^>]*>([^<]*)</span>', dom)
    assert verdict and verdict.group(1) == ", ".join(diagnosis["verdict"])
    assert dom.count("<img") >= 2 and "<audio" in dom
