"""A trained speech recognizer after training: evaluate (WER/CER, S/D/I, hyps.jsonl), LM build + tune + beam
search, predict on audio files and ONNX export, all through the real CLI on the shared tiny Conformer run
(tests/asr_fixtures.py). Tests that write into the run work on a private copy of it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf
import torch

from asr_fixtures import TrainedASR, copy_run, invoke, shared_run, split_overrides, torch_threads
from conftest import CliResult
from speechforge.audio.io import read_audio
from speechforge.data.manifest import read_manifest, write_manifest

METRIC_KEYS = {"wer", "cer", "substitutions", "deletions", "insertions", "ref_words", "utterances", "rtf"}
HYP_KEYS = {"id", "ref", "hyp", "errors", "substitutions", "deletions", "insertions", "ref_words"}
GRID_POINTS = 7 * 4  # speechforge.decoding.tune: LM_WEIGHTS × WORD_SCORES


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def asr(tmp_path_factory: pytest.TempPathFactory) -> TrainedASR:
    return shared_run(tmp_path_factory)


@pytest.fixture
def run(asr: TrainedASR, tmp_path: Path) -> Path:
    """A private copy of the shared run, for commands that write into it."""
    return copy_run(asr.run, tmp_path / "run")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def strict_json(text: str) -> object:
    """json.loads that refuses NaN / Infinity, which are not JSON (RFC 8259) and break jq, JSON.parse, ..."""

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


# -------------------------------------------------------------------------------------------------- evaluate
def test_evaluate_writes_metrics_and_hyps(asr: TrainedASR, run: Path, run_cli: Callable[..., CliResult]) -> None:
    test = read_manifest(asr.splits / "test.jsonl")
    r = run_cli("evaluate", run, "--manifest", asr.splits / "test.jsonl")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "" and "WER" in r.stderr and "RTF" in r.stderr

    metrics = json.loads((run / "eval" / "test" / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) >= METRIC_KEYS, METRIC_KEYS - set(metrics)
    assert metrics["utterances"] == len(test) and metrics["rtf"] > 0
    assert metrics["decoding"] == {"decoder": "greedy", "beam_size": None, "lm": None}
    assert metrics["skipped"] == {"count": 0, "items": []}
    pairs = metrics["top_substitutions"]
    assert isinstance(pairs, list) and pairs, "the tiny model makes substitutions on test"
    for pair in pairs:
        assert set(pair) == {"ref", "hyp", "count"} and pair["count"] >= 1 and pair["ref"] != pair["hyp"]
    assert sum(p["count"] for p in pairs) <= metrics["substitutions"]

    hyps = read_jsonl(run / "eval" / "test" / "hyps.jsonl")
    assert len(hyps) == len(test)
    assert sorted(h["id"] for h in hyps) == sorted(u.id for u in test)
    by_id = {u.id: u for u in test}
    for h in hyps:
        assert set(h) == HYP_KEYS, set(h) ^ HYP_KEYS
        assert h["ref"] == by_id[h["id"]].text  # the synthesized texts are already normalized
        assert h["errors"] == h["substitutions"] + h["deletions"] + h["insertions"]
        assert h["ref_words"] == len(h["ref"].split())
    for key in ("substitutions", "deletions", "insertions", "ref_words"):
        assert sum(h[key] for h in hyps) == metrics[key], key
    assert metrics["wer"] == pytest.approx(sum(h["errors"] for h in hyps) / metrics["ref_words"])
    assert any(h["hyp"] for h in hyps), "the shared run transcribes something"


def test_evaluate_json_prints_exactly_the_metrics(
    asr: TrainedASR, run: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    r = invoke(capfd, "evaluate", run, "--manifest", asr.splits / "test.jsonl", "--json")
    assert r.exit_code == 0, r.stderr
    printed = json.loads(r.stdout)  # fails on anything else on stdout (fd level: capfd)
    written = json.loads((run / "eval" / "test" / "metrics.json").read_text(encoding="utf-8"))
    assert json.dumps(printed, sort_keys=True) == json.dumps(written, sort_keys=True)
    assert set(printed) >= METRIC_KEYS


def test_evaluate_metrics_are_strict_json(asr: TrainedASR, run: Path, capfd: pytest.CaptureFixture[str]) -> None:
    r = invoke(capfd, "evaluate", run, "--manifest", asr.splits / "test.jsonl", "--json")
    assert r.exit_code == 0, r.stderr
    strict_json(r.stdout)
    strict_json((run / "eval" / "test" / "metrics.json").read_text(encoding="utf-8"))


def test_wer_and_cer_agree_with_jiwer(asr: TrainedASR, run: Path, run_cli: Callable[..., CliResult]) -> None:
    r = run_cli("evaluate", run, "--manifest", asr.splits / "dev.jsonl")
    assert r.exit_code == 0, r.stderr
    metrics = json.loads((run / "eval" / "dev" / "metrics.json").read_text(encoding="utf-8"))
    hyps = read_jsonl(run / "eval" / "dev" / "hyps.jsonl")
    refs, outs = [h["ref"] for h in hyps], [h["hyp"] for h in hyps]
    words = jiwer.process_words(refs, outs)
    assert metrics["wer"] == pytest.approx(words.wer, abs=1e-12)
    # The S/D/I split of a minimal alignment is not unique; their sum (the edit distance) is.
    assert words.substitutions + words.deletions + words.insertions == sum(h["errors"] for h in hyps)
    for h in hyps:
        one = jiwer.process_words(h["ref"], h["hyp"])
        assert one.substitutions + one.deletions + one.insertions == h["errors"], h
    assert metrics["cer"] == pytest.approx(jiwer.cer(refs, outs), abs=1e-12)


def test_evaluate_survives_an_utterance_too_short_for_the_model(
    asr: TrainedASR, run: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    test = read_manifest(asr.splits / "test.jsonl")
    short = tmp_path / "short.wav"
    sf.write(str(short), 0.1 * np.random.default_rng(0).standard_normal(800).astype(np.float32), 16000)
    blip = test[0].model_copy(update={"id": "blip", "audio": str(short), "duration": 0.05, "text": "one"})
    write_manifest(tmp_path / "test.jsonl", [*test, blip])
    r = run_cli("evaluate", run, "--manifest", tmp_path / "test.jsonl")
    assert r.exit_code == 0, r.stderr
    metrics = json.loads((run / "eval" / "test" / "metrics.json").read_text(encoding="utf-8"))
    hyps = read_jsonl(run / "eval" / "test" / "hyps.jsonl")
    listed = any("test.jsonl:" in s["item"] for s in metrics["skipped"]["items"])
    assert listed or "blip" in {h["id"] for h in hyps}


# ----------------------------------------------------------------------------------------- LM and beam search
def test_lm_build_tune_then_beam_search_uses_the_tuned_weights(
    asr: TrainedASR,
    run: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    audio_files: tuple[Path, Path, str],
) -> None:
    corpus = tmp_path / "train.txt"
    corpus.write_text("".join(f"{u.text}\n" for u in read_manifest(asr.splits / "train.jsonl")), encoding="utf-8")
    lm = tmp_path / "lm.arpa"
    built = invoke(capfd, "lm", "build", corpus, "--order", "3", "--out", lm)
    assert built.exit_code == 0, built.stderr
    assert "\\3-grams:" in lm.read_text(encoding="utf-8")

    tuned = invoke(capfd, "lm", "tune", run, "--manifest", asr.splits / "dev.jsonl", "--lm", lm)
    assert tuned.exit_code == 0, tuned.stderr
    decoding = json.loads((run / "decoding.json").read_text(encoding="utf-8"))
    assert {"lm_weight", "word_score", "wer", "greedy_wer", "grid"} <= set(decoding)
    grid = decoding["grid"]
    assert len(grid) == GRID_POINTS and all(set(p) == {"lm_weight", "word_score", "wer"} for p in grid)
    assert decoding["wer"] == min(p["wer"] for p in grid)
    assert {"lm_weight": decoding["lm_weight"], "word_score": decoding["word_score"], "wer": decoding["wer"]} in grid

    # Greedy on dev through evaluate gives the greedy WER that tuning measured.
    greedy = invoke(capfd, "evaluate", run, "--manifest", asr.splits / "dev.jsonl", "--json")
    assert greedy.exit_code == 0, greedy.stderr
    assert json.loads(greedy.stdout)["wer"] == pytest.approx(decoding["greedy_wer"])

    beam = invoke(
        capfd, "evaluate", run, "--manifest", asr.splits / "dev.jsonl", "--decoder", "beam", "--lm", lm, "--json"
    )
    assert beam.exit_code == 0, beam.stderr
    metrics = json.loads(beam.stdout)  # KenLM's loading messages must not reach stdout (capfd: fd level)
    settings = metrics["decoding"]
    assert settings["decoder"] == "beam" and settings["beam_size"] == 16 and settings["lm"] == str(lm)
    assert (settings["lm_weight"], settings["word_score"]) == (decoding["lm_weight"], decoding["word_score"])
    assert metrics["wer"] == pytest.approx(decoding["wer"])  # same model, LM, weights and utterances
    assert settings["lm_words_not_spellable"] == 0  # the LM text is the train transcripts
    written = json.loads((run / "eval" / "dev" / "metrics.json").read_text(encoding="utf-8"))
    assert written["decoding"] == settings

    # predict decodes with the same LM: a lexicon decoder only outputs the LM's words.
    a, b, _ = audio_files
    predicted = invoke(capfd, "predict", run, a, b, "--decoder", "beam", "--lm", lm, "--json")
    assert predicted.exit_code == 0, predicted.stderr
    vocabulary = set(corpus.read_text(encoding="utf-8").split())
    for result in json.loads(predicted.stdout):
        assert set(result["text"].split()) <= vocabulary, result


def test_an_lm_with_greedy_decoding_is_a_clear_error(
    asr: TrainedASR, run: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    lm = tmp_path / "x.arpa"
    lm.write_text("not used\n", encoding="utf-8")
    r = run_cli("evaluate", run, "--manifest", asr.splits / "test.jsonl", "--decoder", "greedy", "--lm", lm)
    assert r.exit_code == 2
    assert "an LM needs --decoder beam" in r.stderr and "Traceback" not in r.stderr


def test_beam_search_without_an_lm(asr: TrainedASR, run: Path, run_cli: Callable[..., CliResult]) -> None:
    r = run_cli("evaluate", run, "--manifest", asr.splits / "test.jsonl", "--decoder", "beam", "--json")
    assert r.exit_code == 0, r.stderr
    metrics = r.json()
    assert metrics["decoding"] == {"decoder": "beam", "beam_size": 16, "lm": None}
    assert metrics["utterances"] == 12 and metrics["wer"] >= 0 and metrics["rtf"] > 0
    assert len(read_jsonl(run / "eval" / "test" / "hyps.jsonl")) == 12


# --------------------------------------------------------------------------------------------------- predict
@pytest.fixture
def audio_files(asr: TrainedASR, tmp_path: Path) -> tuple[Path, Path, str]:
    """a.wav: a test utterance as is; b.flac: another one as 22.05 kHz stereo FLAC. And a.wav's id."""
    test = read_manifest(asr.splits / "test.jsonl")
    a, rate = sf.read(test[0].audio, dtype="float32")
    b, _ = read_audio(test[1].audio, sample_rate=22050)
    sf.write(str(tmp_path / "a.wav"), a, rate)
    sf.write(str(tmp_path / "b.flac"), np.stack([b, b], axis=1), 22050)
    return tmp_path / "a.wav", tmp_path / "b.flac", test[0].id


def test_predict_prints_one_transcript_per_file(
    asr: TrainedASR, run: Path, audio_files: tuple[Path, Path, str], run_cli: Callable[..., CliResult]
) -> None:
    a, b, a_id = audio_files
    r = run_cli("predict", run, a, b)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(a), str(b)]
    assert all(len(line.split("\t")) == 2 for line in lines)
    assert any(line.split("\t")[1].strip() for line in lines)

    # The same text as `evaluate` (length-sorted, padded batches) gives for that utterance.
    assert run_cli("evaluate", run, "--manifest", asr.splits / "test.jsonl").exit_code == 0
    hyps = {h["id"]: h["hyp"] for h in read_jsonl(run / "eval" / "test" / "hyps.jsonl")}
    assert lines[0].split("\t")[1] == hyps[a_id]


def test_predict_reports_a_corrupt_file_and_transcribes_the_others(
    run: Path, audio_files: tuple[Path, Path, str], tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    a, b, _ = audio_files
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVE this is not audio" * 4)
    r = run_cli("predict", run, a, bad, b)
    assert r.exit_code == 1
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == [str(a), str(b)]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert "1 of 3 file(s) could not be read" in r.stderr and "Traceback" not in r.stderr


def test_predict_json(run: Path, audio_files: tuple[Path, Path, str], run_cli: Callable[..., CliResult]) -> None:
    a, b, _ = audio_files
    r = run_cli("predict", run, a, b, "--json")
    assert r.exit_code == 0, r.stderr
    results = r.json()
    assert [set(x) for x in results] == [{"file", "text"}] * 2
    assert [x["file"] for x in results] == [str(a), str(b)]
    assert all(isinstance(x["text"], str) for x in results) and any(x["text"] for x in results)


# ---------------------------------------------------------------------------------------------------- export
def test_onnx_export_matches_the_eager_recognizer(
    asr: TrainedASR, run: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    import onnxruntime as ort

    from speechforge.decoding.ctc import greedy_decode
    from speechforge.deploy.inference import WaveformRecognizer
    from speechforge.training.run import load_recognizer

    out = tmp_path / "export"
    r = run_cli("export", run, "--out", out)
    assert r.exit_code == 0, r.stderr
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    task = load_recognizer(run)
    assert meta["tokens"] == task.tokenizer.tokens and meta["blank_id"] == 0 and meta["tokens"][0] == "<blank>"
    assert meta["sample_rate"] == 16000 and meta["model"] == "model.onnx"
    assert (out / meta["tokenizer"]).read_bytes() == (run / "tokenizer.json").read_bytes()

    test = read_manifest(asr.splits / "test.jsonl")
    waves = [read_audio(u.audio, sample_rate=16000)[0] for u in (test[0], test[1])]
    assert len(waves[0]) != len(waves[1])
    lengths = np.array([len(w) for w in waves], dtype=np.int64)
    batch = np.zeros((2, int(lengths.max())), dtype=np.float32)  # (batch, time), zero-padded
    for i, w in enumerate(waves):
        batch[i, : len(w)] = w

    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_log_probs, onnx_lengths = session.run(None, {"waveform": batch, "lengths": lengths})
    with torch.no_grad():
        log_probs, out_lengths = WaveformRecognizer(task).eval()(torch.from_numpy(batch), torch.from_numpy(lengths))
    assert onnx_lengths.tolist() == out_lengths.tolist() and onnx_lengths[0] != onnx_lengths[1]
    assert onnx_log_probs.shape == tuple(log_probs.shape) and onnx_log_probs.shape[-1] == len(meta["tokens"])
    for i, n in enumerate(out_lengths.tolist()):
        np.testing.assert_allclose(onnx_log_probs[i, :n], log_probs[i, :n].numpy(), atol=1e-4, rtol=0)
    greedy_onnx = greedy_decode(onnx_log_probs, onnx_lengths, task.tokenizer)
    assert greedy_onnx == greedy_decode(log_probs, out_lengths, task.tokenizer)
    assert any(greedy_onnx)


# ---------------------------------------------------------------------------------- classification runs
def test_decoder_options_on_a_classification_run_are_ignored(
    asr: TrainedASR, tmp_path: Path, run_cli: Callable[..., CliResult], audio_files: tuple[Path, Path, str]
) -> None:
    """evaluate/predict pass --decoder/--lm/--beam-size to ASR runs only; a classifier ignores them."""
    labelled = tmp_path / "labelled"
    for name in ("train", "dev"):
        manifest = read_manifest(asr.splits / f"{name}.jsonl")
        long_or_short = [u.model_copy(update={"label": "long" if u.duration > 1.3 else "short"}) for u in manifest]
        assert {u.label for u in long_or_short} == {"long", "short"}
        write_manifest(labelled / f"{name}.jsonl", long_or_short)
    recipe = tmp_path / "logreg.yaml"
    recipe.write_text("model:\n  name: logreg\n", encoding="utf-8")
    cls_run = tmp_path / "cls_run"
    r = run_cli(
        "train", recipe, *split_overrides(labelled, ("train", "dev")), "training.max_epochs=1", "--out", cls_run
    )
    assert r.exit_code == 0, r.stderr

    e = run_cli("evaluate", cls_run, "--manifest", labelled / "dev.jsonl", "--decoder", "beam", "--json")
    assert e.exit_code == 0, e.stderr
    metrics = e.json()
    assert "accuracy" in metrics and "wer" not in metrics and "decoding" not in metrics
    assert math.isclose(metrics["error_rate"], 1 - metrics["accuracy"])

    a, _, _ = audio_files
    p = run_cli("predict", cls_run, a, "--decoder", "beam", "--beam-size", "4", "--json")
    assert p.exit_code == 0, p.stderr
    assert p.json()[0]["label"] in {"long", "short"}
