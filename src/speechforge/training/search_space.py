"""SPACE.yaml: which recipe keys a sweep searches, and over what.

Each entry names a dotted recipe key (the same keys as command-line overrides) and one of five forms::

    optimizer.lr: {log_uniform: [1.0e-4, 1.0e-1]}      # float, uniform in log space (low > 0)
    regularization.dropout: {uniform: [0, 0.5]}        # float, uniform
    optimizer.batch_size: {int: [8, 64]}               # integer, uniform
    model.rnn_hidden: {int_log: [32, 512]}             # integer, uniform in log space (low ≥ 1)
    model.channels: {choice: [[16, 32], [32, 64]]}     # one of the listed values (any YAML value)

The file is validated with pydantic; a bad entry is reported on one line with its key and the allowed forms.
Whether a value is valid *for the recipe* is checked by :func:`speechforge.training.recipe.load_recipe`
(see :mod:`speechforge.training.sweep`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from speechforge.errors import SpeechforgeError
from speechforge.training.recipe import read_yaml_file

ALLOWED_FORMS = (
    "{log_uniform: [low, high]}, {uniform: [low, high]}, {int: [low, high]}, {int_log: [low, high]}, "
    "{choice: [a, b, ...]}"
)
_DOTTED_KEY = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

Kind = Literal["log_uniform", "uniform", "int", "int_log", "choice"]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Uniform(_Form):
    uniform: tuple[float, float]

    @model_validator(mode="after")
    def _order(self) -> _Uniform:
        _check_order(*self.uniform)
        return self


class _LogUniform(_Form):
    log_uniform: tuple[float, float]

    @model_validator(mode="after")
    def _order(self) -> _LogUniform:
        _check_order(*self.log_uniform, positive=True)
        return self


class _Int(_Form):
    int_: tuple[StrictInt, StrictInt] = Field(alias="int")

    @model_validator(mode="after")
    def _order(self) -> _Int:
        _check_order(*self.int_)
        return self


class _IntLog(_Form):
    int_log: tuple[StrictInt, StrictInt]

    @model_validator(mode="after")
    def _order(self) -> _IntLog:
        _check_order(*self.int_log, positive=True)
        return self


class _Choice(_Form):
    choice: list[Any] = Field(min_length=1)


_FORMS: dict[str, type[_Form]] = {
    "log_uniform": _LogUniform,
    "uniform": _Uniform,
    "int": _Int,
    "int_log": _IntLog,
    "choice": _Choice,
}


def _check_order(low: float, high: float, positive: bool = False) -> None:
    if positive and low <= 0:
        raise ValueError(f"low must be > 0 for a log scale (got {low})")
    if low >= high:
        raise ValueError(f"low must be below high (got [{low}, {high}])")


def format_value(value: Any) -> str:
    """A value as the text of a ``dotted.key=value`` override (YAML that parses back to the same value)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, allow_unicode=True).strip()
    if text.endswith("..."):  # the document-end marker yaml adds after a plain scalar
        text = text[:-3].strip()
    return text


@dataclass(frozen=True)
class Param:
    """One searched recipe key."""

    key: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()  # choices as override text (Optuna's categorical values must be scalars)

    def describe(self) -> str:
        if self.kind == "choice":
            return "{" + ", ".join(self.choices) + "}"
        return f"{self.kind} [{format_value(self.low)}, {format_value(self.high)}]"

    def suggest(self, trial: Any) -> Any:
        """Draw this parameter from an ``optuna.Trial`` (the value Optuna stores: text for a choice)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind in ("int", "int_log"):
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.kind == "int_log")
        return trial.suggest_float(self.key, self.low, self.high, log=self.kind == "log_uniform")

    def override(self, value: Any) -> str:
        """``dotted.key=value`` for a value this parameter took (as Optuna stores it)."""
        return f"{self.key}={value if self.kind == 'choice' else format_value(value)}"

    def extremes(self) -> list[Any]:
        """The values checked against the recipe schema before any trial: both bounds, or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind in ("int", "int_log"):
            return [int(self.low), int(self.high)]
        return [self.low, self.high]


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]
    raw: dict[str, Any]  # the file as read, to check that a resumed sweep searches the same space
    path: Path | None = None

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {p.key: p.suggest(trial) for p in self.params}

    def overrides(self, values: dict[str, Any]) -> list[str]:
        """Overrides for the values of a trial (``trial.params``), in the order of the space file."""
        return [p.override(values[p.key]) for p in self.params if p.key in values]


def parse_entry(key: str, spec: Any) -> Param:
    """One ``key: {form: ...}`` entry → :class:`Param`; raises ``ValueError`` with a one-line reason."""
    if not isinstance(key, str) or not _DOTTED_KEY.match(key):
        raise ValueError(f"{key!r} is not a dotted recipe key such as optimizer.lr")
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ValueError(f"expected one of {ALLOWED_FORMS} (got {spec!r})")
    (form,) = spec
    cls = _FORMS.get(str(form))
    if cls is None:
        raise ValueError(f"unknown form {form!r}: expected one of {ALLOWED_FORMS}")
    try:
        parsed = cls.model_validate(spec)
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"{form}: {problems} (got {spec[form]!r}; allowed forms: {ALLOWED_FORMS})") from None
    if isinstance(parsed, _Choice):
        choices = tuple(format_value(c) for c in parsed.choice)
        if len(set(choices)) != len(choices):
            raise ValueError(f"choice: the values must differ (got {parsed.choice!r})")
        return Param(key, "choice", choices=choices)
    kind: Kind = form
    low, high = next(iter(parsed.model_dump().values()))
    return Param(key, kind, low=low, high=high)


def parse_space(raw: Any, path: Path | None = None) -> SearchSpace:
    """Validate a space mapping (as read from YAML); errors name the file and the key."""
    if not isinstance(raw, dict) or not raw:
        raise SpeechforgeError(
            f"a search space is a mapping of dotted recipe keys to {ALLOWED_FORMS}, e.g. "
            "optimizer.lr: {log_uniform: [1.0e-4, 1.0e-1]}",
            path=path,
        )
    params = []
    for key, spec in raw.items():
        try:
            params.append(parse_entry(key, spec))
        except ValueError as exc:
            raise SpeechforgeError(f"{key}: {exc}", path=path) from None
    return SearchSpace(tuple(params), raw, path)


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate SPACE.yaml."""
    path = Path(path)
    return parse_space(read_yaml_file(path, "search space"), path)
