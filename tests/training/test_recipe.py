"""Recipes are data validated by a schema: wrong keys and values are reported with their path."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechforge.errors import SpeechforgeError
from speechforge.training.recipe import Recipe, load_recipe

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["digits_cnn", "commands_cnn", "languages_cnn", "yesno_logreg"])
def test_shipped_recipes_validate(name: str) -> None:
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml")
    assert recipe.data.train is not None and recipe.data.dev is not None
    # The resolved recipe written into a run reads back identically.
    assert Recipe.model_validate(__import__("yaml").safe_load(recipe.to_yaml())) == recipe


def test_yesno_recipe_is_the_lectures_example() -> None:
    recipe = load_recipe(ROOT / "recipes" / "yesno_logreg.yaml")
    assert recipe.model.name == "logreg" and recipe.loss.name == "bce"
    assert recipe.optimizer.name == "sgd" and recipe.optimizer.batch_size == "full"


def test_overrides_use_dotted_keys_and_yaml_values() -> None:
    recipe = load_recipe(
        ROOT / "recipes" / "digits_cnn.yaml",
        [
            "model.channels=[64,128,256]",
            "optimizer.lr=1e-4",
            "augment.noise.snr=[5,20]",
            "regularization.dropout=0.3",
            "training.max_epochs=60",
            "optimizer.weight_decay=1e-4",
        ],
    )
    assert recipe.model.name == "cnn" and recipe.model.channels == [64, 128, 256]
    assert recipe.optimizer.lr == pytest.approx(1e-4) and recipe.augment.noise.snr == (5.0, 20.0)
    assert recipe.dropout == pytest.approx(0.3) and recipe.training.max_epochs == 60


def test_unknown_key_names_its_path_and_the_allowed_keys() -> None:
    with pytest.raises(SpeechforgeError) as info:
        load_recipe(None, ["model.chanels=[8]"])
    message = str(info.value)
    assert "model.chanels: unknown key" in message and "channels" in message and "did you mean" in message


def test_wrong_value_names_the_allowed_values() -> None:
    with pytest.raises(SpeechforgeError, match=r"optimizer.name: Input should be 'sgd', 'adam', 'adamw' or 'rmsprop'"):
        load_recipe(None, ["optimizer.name=adm"])
    with pytest.raises(
        SpeechforgeError,
        match=r"model.name: unknown model 'rnn' \(allowed: cnn, conformer_ctc, crnn, logreg, lstm_ctc, mlp, "
        r"wav2vec2_ctc\)",
    ):
        load_recipe(None, ["model.name=rnn"])
    with pytest.raises(SpeechforgeError, match=r"optimizer.lr: .*number"):
        load_recipe(None, ["optimizer.lr=fast"])
    with pytest.raises(SpeechforgeError, match=r"optimizer.batch_size"):
        load_recipe(None, ["optimizer.batch_size=0"])


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: cnn\n  channels: [1, 2\noptimizer: {}\n")
    with pytest.raises(SpeechforgeError, match=r"bad.yaml:\d+: not valid YAML"):
        load_recipe(bad)


def test_override_without_equals_is_rejected() -> None:
    with pytest.raises(SpeechforgeError, match=r"dotted\.key=value"):
        load_recipe(None, ["optimizer.lr"])
