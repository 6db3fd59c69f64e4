"""``speechforge score`` through the real entry point: plain and id<TAB>text files, errors, --json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sacrebleu

from conftest import CliResult

CONTRACT = {"wer", "cer", "substitutions", "deletions", "insertions", "ref_words", "utterances"}
Run = Callable[..., CliResult]


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_plain_files_json(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.txt", "The cat sat.", "Hello, world!")
    hyp = write(tmp_path / "hyp.txt", "the bat sat down", "hello world")
    result = run_cli("score", "--metric", "wer", "--ref", ref, "--hyp", hyp, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()  # stdout is only the JSON object
    assert data.keys() >= CONTRACT
    assert (data["substitutions"], data["deletions"], data["insertions"]) == (1, 0, 1)
    assert data["ref_words"] == 5 and data["utterances"] == 2
    assert data["wer"] == pytest.approx(2 / 5)
    assert data["top_substitutions"] == [{"ref": "cat", "hyp": "bat", "count": 1}]
    assert data["normalization"]["lowercase"] is True
    assert data["missing_ids"] == []


def test_plain_files_table_on_stderr(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.txt", "the cat sat")
    hyp = write(tmp_path / "hyp.txt", "the bat sat down")
    result = run_cli("score", "--ref", ref, "--hyp", hyp)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "66.67%" in result.stderr and "bat" in result.stderr


def test_no_normalize_counts_case_and_punctuation(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.txt", "Hello, world")
    hyp = write(tmp_path / "hyp.txt", "hello world")
    data = run_cli("score", "--ref", ref, "--hyp", hyp, "--no-normalize", "--json").json()
    assert data["substitutions"] == 1 and data["normalization"] is None
    assert run_cli("score", "--ref", ref, "--hyp", hyp, "--json").json()["wer"] == 0.0


def test_id_files_in_different_order_are_matched_by_id(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.tsv", "u1\tthe cat sat", "u2\tone two three", "u3\tgood morning")
    hyp = write(tmp_path / "hyp.tsv", "u3\tgood morning", "u1\tthe cat sat", "u2\tone two three")
    data = run_cli("score", "--metric", "cer", "--ref", ref, "--hyp", hyp, "--json").json()
    assert data["wer"] == 0.0 and data["cer"] == 0.0 and data["utterances"] == 3
    assert [u["id"] for u in data["per_utterance"]] == ["u1", "u2", "u3"]


def test_missing_hypothesis_ids_are_all_deletions_and_reported(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.tsv", "u1\tthe cat sat", "u2\tone two three", "u3\tgood morning")
    hyp = write(tmp_path / "hyp.tsv", "u1\tthe cat sat")
    result = run_cli("score", "--ref", ref, "--hyp", hyp, "--json")
    data = result.json()
    assert data["missing_ids"] == ["u2", "u3"]
    assert data["deletions"] == 5 and data["ref_words"] == 8
    table = run_cli("score", "--ref", ref, "--hyp", hyp)
    assert table.exit_code == 0 and "2 id(s) missing" in table.stderr and "u2, u3" in table.stderr


def test_id_only_in_hypotheses_is_an_error_naming_file_and_line(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.tsv", "u1\tthe cat")
    hyp = write(tmp_path / "hyp.tsv", "u1\tthe cat", "u9\textra")
    result = run_cli("score", "--ref", ref, "--hyp", hyp)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{hyp}:2:" in result.stderr and "'u9'" in result.stderr


def test_mismatched_line_counts_without_ids(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.txt", "a b", "c d", "e f")
    hyp = write(tmp_path / "hyp.txt", "a b", "c d")
    result = run_cli("score", "--ref", ref, "--hyp", hyp, "--json")
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert str(ref) in line and str(hyp) in line and "3 line(s)" in line and "has 2" in line


def test_other_user_errors_exit_2(tmp_path: Path, run_cli: Run) -> None:
    ref = write(tmp_path / "ref.txt", "a b")
    ids = write(tmp_path / "ids.tsv", "u1\ta b")
    empty = write(tmp_path / "empty.txt")
    blank = write(tmp_path / "blank.txt", "...")
    dup = write(tmp_path / "dup.tsv", "u1\ta", "u1\tb")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    cases = [
        (["--ref", ref, "--hyp", ids], "same format"),
        (["--ref", empty, "--hyp", ref], "empty"),
        (["--ref", blank, "--hyp", ref], "reference(s) are empty"),
        (["--ref", dup, "--hyp", ids], f"{dup}:2:"),
        (["--ref", tmp_path / "nope.txt", "--hyp", ref], "no such file"),
        (["--ref", ref, "--hyp", latin1], f"{latin1}:2: not valid UTF-8"),
        (["--ref", ref, "--hyp", ref, "--metric", "ter"], "--metric"),
    ]
    for args, message in cases:
        result = run_cli("score", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bleu_equals_sacrebleu(tmp_path: Path, run_cli: Run) -> None:
    refs = ["The cat is on the mat.", "There is a cat on the mat."]
    hyps = ["The cat sat on the mat.", "A cat is on the mat."]
    ref = write(tmp_path / "ref.txt", *refs)
    hyp = write(tmp_path / "hyp.txt", *hyps)
    data = run_cli("score", "--metric", "bleu", "--ref", ref, "--hyp", hyp, "--json").json()
    assert data["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert data["normalization"] is None  # BLEU is on the text as given unless --normalize
    same = run_cli("score", "--metric", "bleu", "--ref", ref, "--hyp", ref).stderr
    assert "100.00" in same and "signature" in same
