"""Training speech recognition (``task: asr``) for real: tiny CTC models on synthesized digit strings.

The shared run (tests/asr_fixtures.py) is a tiny Conformer trained once through ``speechforge train``;
the other tests train their own runs of one to four epochs. No mocks: real eSpeak NG audio, real models,
real Lightning loops.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from asr_fixtures import (
    BUCKETS,
    TINY_CONFORMER,
    ASRCorpus,
    TrainedASR,
    cli,
    shared_corpus,
    shared_run,
    shared_splits,
    split_overrides,
    torch_threads,
    write_recipe,
)
from conftest import CliResult
from speechforge.data.dataset import BucketBatchSampler
from speechforge.data.manifest import read_manifest, write_manifest
from speechforge.errors import SpeechforgeError
from speechforge.training.recipe import load_recipe

METRIC_KEYS = {
    *("wer", "cer", "substitutions", "deletions", "insertions", "ref_words", "utterances", "error_rate"),
    *("loss", "rtf"),
}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def asr(tmp_path_factory: pytest.TempPathFactory) -> TrainedASR:
    return shared_run(tmp_path_factory)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> ASRCorpus:
    """The corpus and recipe only: tests that train their own run do not wait for the shared one."""
    return shared_corpus(tmp_path_factory)


def history(run: Path) -> list[dict[str, float]]:
    with (run / "history.csv").open(encoding="utf-8") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def train_cli(
    run_cli: Callable[..., CliResult], recipe: Path, splits: Path, out: Path, *extra: str, **replaced: Path
) -> CliResult:
    """The tiny Conformer on train + dev (one epoch unless ``extra`` says otherwise)."""
    return run_cli(
        "train",
        recipe,
        *split_overrides(splits, ("train", "dev"), **replaced),
        *TINY_CONFORMER,
        "training.max_epochs=1",
        *extra,
        "--out",
        out,
    )


# ------------------------------------------------------------------------------------------ the shared run
def test_run_folder_of_an_asr_run(asr: TrainedASR) -> None:
    for name in ("tokenizer.json", "recipe.yaml", "best.ckpt", "last.ckpt", "history.csv", "metrics.json"):
        assert (asr.run / name).is_file(), name
    assert not (asr.run / "labels.json").exists()
    assert load_recipe(asr.run / "recipe.yaml").task == "asr"
    tokenizer = json.loads((asr.run / "tokenizer.json").read_text(encoding="utf-8"))
    assert tokenizer["tokens"][:2] == ["<blank>", "|"]  # CTC blank = id 0, then the word separator
    assert set("".join(tokenizer["tokens"][2:])) == set("efghinorstuvwxz")  # the letters of the digit words

    rows = history(asr.run)
    assert rows and all(0.0 <= row["padding"] <= 0.5 for row in rows)  # length-bucketed batches

    metrics = json.loads((asr.run / "metrics.json").read_text(encoding="utf-8"))
    expected_utterances = {"train": 36, "train_dev": 12, "dev": 12, "test": 12}
    for split in ("train", "dev", "test", "train_dev"):
        m = metrics[split]
        assert set(m) >= METRIC_KEYS, (split, METRIC_KEYS - set(m))
        assert m["error_rate"] == m["wer"]
        assert m["utterances"] == expected_utterances[split]
        assert m["wer"] == pytest.approx((m["substitutions"] + m["deletions"] + m["insertions"]) / m["ref_words"])
        assert np.isfinite(m["loss"]) and m["loss"] > 0 and m["rtf"] > 0 and m["cer"] >= 0
    assert metrics["tokenizer"]["kind"] == "CharTokenizer"
    assert metrics["skipped"] == {"train": [], "dev": [], "train_dev": [], "test": []}
    assert metrics["epochs"] == len(rows)


def test_training_log_reports_the_padding_ratio(asr: TrainedASR) -> None:
    # One accounting line: bucketed batches replace optimizer.batch_size's "m / M" iterations.
    assert len(re.findall(r"iterations per epoch", asr.log)) == 1, asr.log
    match = re.search(
        r"→ (\d+) iterations per epoch \(mini-batch gradient descent\), padding (\d+(?:\.\d+)?)% of the audio", asr.log
    )
    assert match, asr.log
    assert int(match.group(1)) > 1 and 0.0 <= float(match.group(2)) <= 50.0
    assert "WER" in asr.log and "CER" in asr.log  # the per-split table


def test_the_loss_falls(asr: TrainedASR) -> None:
    rows = history(asr.run)
    assert len(rows) >= 10
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert min(r["dev_loss"] for r in rows) < rows[0]["dev_loss"]
    metrics = json.loads((asr.run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["train"]["cer"] < 0.5  # it learned characters (chance would delete or garble them all)


# --------------------------------------------------------------------------------- length-bucketed batches
def skewed_sizes(n: int = 300, seed: int = 0) -> list[int]:
    """Many short utterances and a long tail (log-normal lengths, in samples)."""
    rng = np.random.default_rng(seed)
    return [int(x) for x in np.clip(rng.lognormal(mean=9.5, sigma=0.8, size=n), 800, None)]


def padding_of(sizes: np.ndarray, batches: list[list[int]]) -> float:
    padded = sum(int(sizes[b].max()) * len(b) for b in batches)
    return 1.0 - float(sum(int(sizes[b].sum()) for b in batches)) / padded


def epoch_batches(sampler: BucketBatchSampler, epoch: int) -> list[list[tuple[int, int]]]:
    sampler.set_epoch(epoch)
    return list(iter(sampler))


def test_bucket_batches_respect_the_caps_and_cover_every_item_once() -> None:
    sizes = skewed_sizes()
    max_samples, max_batch = 4 * max(sizes), 16
    sampler = BucketBatchSampler(sizes, max_samples, max_batch, seed=3)
    counts = set()
    for epoch in range(4):
        batches = epoch_batches(sampler, epoch)
        counts.add(len(batches))
        for batch in batches:
            indices = [i for i, _ in batch]
            assert {e for _, e in batch} == {epoch}  # items are (index, epoch)
            assert 1 <= len(indices) <= max_batch
            assert max(sizes[i] for i in indices) * len(indices) <= max_samples
        flat = sorted(i for batch in batches for i, _ in batch)
        assert flat == list(range(len(sizes)))  # every item exactly once
    assert counts == {len(sampler)}  # the same number of batches every epoch


def test_bucket_order_depends_only_on_seed_and_epoch() -> None:
    sizes = skewed_sizes()
    a = BucketBatchSampler(sizes, 4 * max(sizes), 16, seed=3)
    b = BucketBatchSampler(sizes, 4 * max(sizes), 16, seed=3)
    other = BucketBatchSampler(sizes, 4 * max(sizes), 16, seed=4)
    first = epoch_batches(a, 2)
    epoch_batches(a, 5)  # another epoch in between changes nothing
    assert epoch_batches(a, 2) == first == epoch_batches(b, 2)
    assert epoch_batches(a, 1) != first
    assert [[i for i, _ in batch] for batch in epoch_batches(other, 2)] != [[i for i, _ in batch] for batch in first]


def test_bucketing_pads_less_than_random_batches() -> None:
    sizes = skewed_sizes()
    array = np.asarray(sizes)
    sampler = BucketBatchSampler(sizes, 4 * max(sizes), 16, seed=0)
    batches = [[i for i, _ in batch] for batch in epoch_batches(sampler, 0)]
    assert sampler.padding_ratio == pytest.approx(padding_of(array, batches))
    rng = np.random.default_rng(0)
    random_padding = [
        padding_of(array, [list(c) for c in np.array_split(rng.permutation(len(sizes)), len(batches))])
        for _ in range(20)
    ]
    assert sampler.padding_ratio < 0.5 * min(random_padding), (sampler.padding_ratio, min(random_padding))


def test_bucket_cap_shorter_than_the_longest_utterance_is_an_error() -> None:
    with pytest.raises(SpeechforgeError, match=r"data\.max_batch_seconds is shorter than the longest"):
        BucketBatchSampler([100, 5000, 300], max_samples=4999, max_batch=8)


def test_bucket_order_is_read_when_iteration_starts() -> None:
    sizes = skewed_sizes()
    sampler = BucketBatchSampler(sizes, 4 * max(sizes), 16, seed=3)
    expected = epoch_batches(BucketBatchSampler(sizes, 4 * max(sizes), 16, seed=3), 2)
    iterator = iter(sampler)  # what DataLoader.__iter__ does (Lightning's setup_data, on resume)
    sampler.set_epoch(2)  # then TaskModule.on_train_epoch_start
    assert list(iterator) == expected


def test_max_batch_seconds_shorter_than_an_utterance_is_a_clear_error(
    corpus: ASRCorpus, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    r = train_cli(run_cli, corpus.recipe, corpus.splits, tmp_path / "run", "data.max_batch_seconds=0.5")
    assert r.exit_code == 2
    assert "data.max_batch_seconds is shorter than the longest training utterance" in r.stderr
    assert "Traceback" not in r.stderr


# --------------------------------------------------------------------------------------------- bad inputs
def test_unusable_utterances_are_counted_skips(
    corpus: ASRCorpus, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    train = read_manifest(corpus.splits / "train.jsonl")
    dev = read_manifest(corpus.splits / "dev.jsonl")
    short_wav = tmp_path / "short.wav"
    sf.write(str(short_wav), 0.1 * np.random.default_rng(0).standard_normal(800).astype(np.float32), 16000)
    no_words = train[0].model_copy(update={"id": "no_words", "text": "... !?"})  # empty once normalized
    too_short = train[1].model_copy(
        update={"id": "too_short", "audio": str(short_wav), "duration": 0.05, "text": "one two three four five six"}
    )
    unseen = dev[0].model_copy(update={"id": "unseen_q", "text": "one q two"})  # no digit word has a "q"
    write_manifest(tmp_path / "train.jsonl", [*train, no_words, too_short])
    write_manifest(tmp_path / "dev.jsonl", [*dev, unseen])

    r = train_cli(
        run_cli,
        corpus.recipe,
        corpus.splits,
        tmp_path / "run",
        train=tmp_path / "train.jsonl",
        dev=tmp_path / "dev.jsonl",
    )
    assert r.exit_code == 0, r.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    skipped = metrics["skipped"]
    n = len(train)
    assert [s["item"].split(" ")[0] for s in skipped["train"]] == [
        f"{tmp_path / 'train.jsonl'}:{n + 1}",
        f"{tmp_path / 'train.jsonl'}:{n + 2}",
    ]
    assert "empty transcript" in skipped["train"][0]["reason"]
    assert "audio too short for its transcript" in skipped["train"][1]["reason"]
    assert [s["item"].split(" ")[0] for s in skipped["dev"]] == [f"{tmp_path / 'dev.jsonl'}:{len(dev) + 1}"]
    assert "'q'" in skipped["dev"][0]["reason"]
    assert metrics["train"]["utterances"] == n and metrics["dev"]["utterances"] == len(dev)
    assert f"skipped 2 of {n + 2} utterance(s) of train" in r.stderr
    assert f"skipped 1 of {len(dev) + 1} utterance(s) of dev" in r.stderr


def test_an_empty_transcript_is_a_counted_skip(
    corpus: ASRCorpus, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    train = read_manifest(corpus.splits / "train.jsonl")
    write_manifest(tmp_path / "train.jsonl", [*train, train[0].model_copy(update={"id": "empty", "text": ""})])
    r = train_cli(run_cli, corpus.recipe, corpus.splits, tmp_path / "run", train=tmp_path / "train.jsonl")
    assert r.exit_code == 0, r.stderr
    skipped = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))["skipped"]["train"]
    assert len(skipped) == 1 and f"train.jsonl:{len(train) + 1}" in skipped[0]["item"]


@pytest.mark.parametrize(
    ("recipe", "overrides", "message"),
    [
        ("task: asr\nmodel:\n  name: cnn\n", [], "needs a CTC model (model.name: conformer_ctc | lstm_ctc"),
        ("task: classification\n", ["model.name=lstm_ctc"], "model.name: lstm_ctc is a CTC model: set task: asr"),
        ("task: asr\n", ["loss.name=ce"], "task: asr trains with loss.name: ctc, got 'ce'"),
    ],
)
def test_task_model_and_loss_must_agree(
    tmp_path: Path, run_cli: Callable[..., CliResult], recipe: str, overrides: list[str], message: str
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe, encoding="utf-8")
    with pytest.raises(SpeechforgeError, match=re.escape(message)):
        load_recipe(path, overrides)
    r = run_cli("train", path, *overrides, "--out", tmp_path / "run")
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------ other models
def test_lstm_ctc_trains_through_the_same_path(
    corpus: ASRCorpus, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    r = run_cli(
        "train",
        corpus.recipe,
        *split_overrides(corpus.splits, ("train", "dev")),
        "model.name=lstm_ctc",
        "model.hidden=32",
        "model.layers=1",
        "model.subsampling_channels=8",
        "training.max_epochs=2",
        BUCKETS,
        "--out",
        tmp_path / "run",
    )
    assert r.exit_code == 0, r.stderr
    rows = history(tmp_path / "run")
    assert len(rows) == 2 and all(np.isfinite(row["train_loss"]) for row in rows)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["dev"]["utterances"] == 12 and metrics["dev"]["wer"] >= 0
    assert load_recipe(tmp_path / "run" / "recipe.yaml").model.name == "lstm_ctc"


# ------------------------------------------------------------------------------------------------ resume
def stop_after(epochs: int) -> Any:
    """A Lightning callback that ends training after ``epochs`` epochs, leaving last.ckpt as a crash would."""
    import lightning.pytorch as pl

    class StopAfter(pl.Callback):
        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            if trainer.current_epoch + 1 >= epochs:
                trainer.should_stop = True

    return StopAfter()


def resume_overrides(splits: Path, bucketed: bool) -> list[str]:
    return [
        *split_overrides(splits, ("train", "dev")),
        *TINY_CONFORMER,
        "training.max_epochs=4",
        "regularization.early_stopping.enabled=false",
        *([BUCKETS] if bucketed else []),
    ]


@pytest.fixture(scope="module", params=[True, False], ids=["bucketed", "shuffled"])
def resumed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same 4-epoch recipe trained straight through, and stopped after 2 epochs then resumed (CLI)."""
    from speechforge.training.trainer import train

    splits = shared_splits(tmp_path_factory)
    root = tmp_path_factory.mktemp("resume")
    recipe_path = write_recipe(root)
    overrides = resume_overrides(splits, request.param)
    full = train(load_recipe(recipe_path, overrides), root / "full", progress=False)
    first = train(load_recipe(recipe_path, overrides), root / "run", progress=False, callbacks=[stop_after(2)])
    second = cli("train", recipe_path, *overrides, "--out", root / "run", "--resume")
    return {"full": full, "first": first, "second": second, "run": root / "run"}


def test_resume_continues_to_max_epochs(resumed: dict[str, Any]) -> None:
    assert len(resumed["first"].history) == 2 and resumed["first"].metrics["stopped_early"]
    second = resumed["second"]
    assert second.exit_code == 0, second.stderr
    assert "resuming from" in second.stderr
    rows = history(resumed["run"])
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4]
    for row, before in zip(rows[:2], resumed["first"].history, strict=True):
        assert row["train_loss"] == pytest.approx(before["train_loss"], rel=1e-5)
    metrics = json.loads((resumed["run"] / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["epochs"] == 4 and not metrics["stopped_early"]


def test_resumed_run_matches_the_uninterrupted_one(resumed: dict[str, Any], request: pytest.FixtureRequest) -> None:
    rows = history(resumed["run"])  # history.csv keeps 6 significant digits
    full = resumed["full"].history
    assert [r["train_loss"] for r in rows] == pytest.approx([r["train_loss"] for r in full], rel=2e-5)
    assert [r["dev_loss"] for r in rows] == pytest.approx([r["dev_loss"] for r in full], rel=2e-5)
    metrics = json.loads((resumed["run"] / "metrics.json").read_text(encoding="utf-8"))
    for split in ("train", "dev"):
        assert metrics[split]["loss"] == pytest.approx(resumed["full"].metrics[split]["loss"], abs=1e-6), split
        assert metrics[split]["wer"] == resumed["full"].metrics[split]["wer"], split


# -------------------------------------------------------------------------------------------- wav2vec2
# A tiny Wav2Vec2 with a 160-sample (10 ms) frame like the fbank models: conv strides 5 · 8 · 4. With the
# (5, 2) strides of tests/models/test_wav2vec2.py (1600 frames per second) attention over a 1.5 s utterance
# made 4 epochs take ~110 s here instead of ~2 s.
TINY_W2V2: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [32, 32, 32],
    "conv_kernel": [10, 8, 4],
    "conv_stride": [5, 8, 4],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "mask_time_prob": 0.0,
}


@pytest.fixture(scope="module")
def w2v2_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised Wav2Vec2ForCTC written with save_pretrained (5 outputs: a new head)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import transformers

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("w2v2") / "pretrained"
    config = transformers.Wav2Vec2Config(**TINY_W2V2, vocab_size=5)
    transformers.Wav2Vec2ForCTC(config).save_pretrained(str(folder))
    return folder


def w2v2_overrides(splits: Path, pretrained: Path, epochs: int) -> list[str]:
    return [
        *split_overrides(splits, ("train", "dev")),
        "model.name=wav2vec2_ctc",
        f"model.pretrained={pretrained}",
        "model.freeze_encoder_epochs=1",
        "model.layer_decay=0.8",
        "optimizer.lr=0.003",
        "regularization.early_stopping.monitor=dev_loss",
        f"training.max_epochs={epochs}",
        BUCKETS,
    ]


def test_wav2vec2_end_to_end_and_reload_without_the_checkpoint(
    corpus: ASRCorpus,
    w2v2_checkpoint: Path,
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from speechforge.training.run import load_recognizer, task_state

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pretrained = shutil.copytree(w2v2_checkpoint, tmp_path / "pretrained")
    run = tmp_path / "run"
    r = run_cli("train", corpus.recipe, *w2v2_overrides(corpus.splits, pretrained, epochs=4), "--out", run)
    assert r.exit_code == 0, r.stderr
    architecture = json.loads((run / "wav2vec2.json").read_text(encoding="utf-8"))
    assert architecture["hidden_size"] == 32 and architecture["conv_stride"] == [5, 8, 4]
    rows = history(run)
    assert len(rows) == 4 and rows[-1]["train_loss"] < rows[0]["train_loss"]
    trained = json.loads((run / "metrics.json").read_text(encoding="utf-8"))

    shutil.rmtree(pretrained)  # the run must not need the checkpoint folder any more
    task = load_recognizer(run)
    saved = task_state(torch.load(run / "best.ckpt", map_location="cpu", weights_only=False))
    state = task.state_dict()
    assert set(saved) == set(state)  # load_task loads with strict=False: check that nothing was left out
    for key, value in saved.items():
        assert torch.equal(state[key], value), key
    e = run_cli("evaluate", run, "--manifest", corpus.splits / "dev.jsonl", "--json")
    assert e.exit_code == 0, e.stderr
    metrics = e.json()
    assert metrics["utterances"] == 12
    assert (metrics["wer"], metrics["cer"]) == (trained["dev"]["wer"], trained["dev"]["cer"])


def test_wav2vec2_random_init_from_config(corpus: ASRCorpus, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    config = json.dumps({**TINY_W2V2, "num_hidden_layers": 1})  # JSON is YAML: the override is parsed as YAML
    r = run_cli(
        "train",
        corpus.recipe,
        *split_overrides(corpus.splits, ("train", "dev")),
        "model.name=wav2vec2_ctc",
        f"model.config={config}",
        "training.max_epochs=1",
        BUCKETS,
        "--out",
        tmp_path / "run",
    )
    assert r.exit_code == 0, r.stderr
    architecture = json.loads((tmp_path / "run" / "wav2vec2.json").read_text(encoding="utf-8"))
    assert architecture["num_hidden_layers"] == 1 and architecture["hidden_size"] == 32
    assert np.isfinite(history(tmp_path / "run")[0]["train_loss"])


def mode_spy(seen: list[dict[str, Any]]) -> Any:
    """A Lightning callback recording, at the first batch of each epoch, which modules are in eval mode and
    which parts of the wav2vec2 model train."""
    import lightning.pytorch as pl

    class ModeSpy(pl.Callback):
        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
            if batch_idx:
                return
            model = module.task.model.model  # transformers.Wav2Vec2ForCTC
            seen.append(
                {
                    "epoch": trainer.current_epoch,
                    "eval_modules": [name for name, m in module.named_modules() if not m.training],
                    "head": model.lm_head.weight.requires_grad,
                    "encoder": model.wav2vec2.encoder.layers[0].attention.q_proj.weight.requires_grad,
                    "features": next(model.wav2vec2.feature_extractor.parameters()).requires_grad,
                }
            )

    return ModeSpy()


@pytest.fixture(scope="module")
def w2v2_modes(w2v2_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    from speechforge.training.trainer import train

    splits = shared_splits(tmp_path_factory)
    root = tmp_path_factory.mktemp("w2v2_modes")
    seen: list[dict[str, Any]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        recipe = load_recipe(write_recipe(root), w2v2_overrides(splits, w2v2_checkpoint, epochs=2))
        train(recipe, root / "run", progress=False, callbacks=[mode_spy(seen)])
    yield seen


def test_wav2vec2_trains_the_head_first(w2v2_modes: list[dict[str, Any]]) -> None:
    assert [s["epoch"] for s in w2v2_modes] == [0, 1]
    first, second = w2v2_modes
    assert first["head"] and not first["encoder"] and not first["features"]  # freeze_encoder_epochs=1
    assert second["head"] and second["encoder"] and not second["features"]  # freeze_feature_encoder


def test_wav2vec2_trains_in_train_mode(w2v2_modes: list[dict[str, Any]]) -> None:
    for seen in w2v2_modes:
        assert seen["eval_modules"] == [], (seen["epoch"], len(seen["eval_modules"]), seen["eval_modules"][:3])
