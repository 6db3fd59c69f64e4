"""The lecture's remedies ("Addressing bias/variance problem"), ranked for one run.

Each recommendation is ``{action, override, reason}``: ``override`` is ONE ``dotted.key=value`` that
``speechforge train RUN/recipe.yaml ... OVERRIDE`` accepts (validated against the run's recipe), or None for
an action that is not a recipe key (collect data, get a bigger dev set). ``reason`` is read from this run.

Problems are addressed biggest gap first; within a problem, remedies are ranked by a score that the run's
evidence raises (e.g. "train loss still falling at the last epoch" ranks "train longer" first). A remedy the
recipe already applies (dropout 0.3 when it has 0.3) is not proposed; an override proposed for two problems
is listed once, with both reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from speechforge.diagnosis.gaps import VERDICT_OF
from speechforge.training.recipe import Recipe

SYNTH_HINT = (
    "speechforge data synth digits|commands|languages --out synth/, "
    "then augment.synthesized.manifest=synth/manifest.jsonl"
)


@dataclass
class Remedy:
    action: str
    override: str | None
    reason: str
    score: float  # higher = proposed earlier within its problem

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "override": self.override, "reason": self.reason}


def _n(value: float | None) -> str:
    """An error rate for a sentence: 0.25, 0.0312 (3 significant digits)."""
    return "-" if value is None else f"{value:.3g}"


def _list(values: list[int]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def _dropout_key(recipe: Recipe) -> str:
    """``model.dropout`` wins over ``regularization.dropout`` when the recipe sets it."""
    return "model.dropout" if recipe.model.dropout is not None else "regularization.dropout"


def _resize(recipe: Recipe, factor: float) -> str | None:
    """The override that scales the model's width by ``factor`` (None for logreg, which has no width)."""
    model = recipe.model
    if model.name in ("cnn", "crnn"):
        channels = model.channels
        return f"model.channels={_list([max(4, round(c * factor)) for c in channels])}"
    if model.name == "mlp":
        return f"model.hidden={_list([max(4, round(h * factor)) for h in model.hidden])}"
    if model.name == "conformer_ctc":  # width stays a multiple of the number of heads
        return f"model.d_model={max(1, round(model.d_model * factor / model.n_heads)) * model.n_heads}"
    if model.name == "lstm_ctc":
        return f"model.hidden={max(4, round(model.hidden * factor))}"
    return None


def _size_text(recipe: Recipe) -> str:
    model = recipe.model
    width = getattr(model, "channels", None) or getattr(model, "hidden", None) or getattr(model, "d_model", None)
    if isinstance(width, int):
        width = [width]
    return f"the {model.name}" + (f" {_list(width)}" if width else "")


def _falling_at_end(history: list[dict[str, float]]) -> tuple[bool, str]:
    """Was the train loss still falling (> 1%) over the last epoch? (answer, evidence text)."""
    if len(history) < 2:
        return False, ""
    a, b = history[-2]["train_loss"], history[-1]["train_loss"]
    epoch = int(history[-1]["epoch"])
    if a > 0 and (a - b) / a > 0.01:
        return True, f"train loss was still falling at the last epoch {epoch} ({a:.4g} → {b:.4g})"
    return False, f"train loss had flattened by epoch {epoch} ({a:.4g} → {b:.4g})"


def bias_remedies(recipe: Recipe, ctx: dict[str, Any]) -> list[Remedy]:
    base = ctx["bias_text"]
    history, kinds = ctx["history"], ctx["kinds"]
    out: list[Remedy] = []
    model = recipe.model
    bigger = _resize(recipe, 2)
    if bigger:
        out.append(
            Remedy(
                "increase the model size (double the width)",
                bigger,
                f"{base}; {_size_text(recipe)} may be too small to fit it",
                3.0,
            )
        )
    elif model.name == "wav2vec2_ctc":
        out.append(
            Remedy(
                "fine-tune more of the encoder (or start from a larger pretrained checkpoint)",
                "model.freeze_encoder_epochs=0",
                f"{base}; the pretrained encoder is frozen for {getattr(model, 'freeze_encoder_epochs', 0)} epochs",
                2.0,
            )
        )
    else:
        out.append(
            Remedy(
                "use a bigger model: an MLP on the same features",
                "model.name=mlp",
                f"{base}; logistic regression is linear in the pooled features",
                5.0,
            )
        )
    falling, evidence = _falling_at_end(history)
    epochs = recipe.training.max_epochs
    out.append(
        Remedy(
            "train longer",
            f"training.max_epochs={2 * epochs}",
            f"{base}; {evidence or 'no history.csv'} (max_epochs {epochs})",
            4.0 if falling else 1.0,
        )
    )
    opt = recipe.optimizer
    if opt.name != "adam":
        stuck = "loss_not_falling" in kinds
        out.append(
            Remedy(
                "use an advanced optimizer (Adam)",
                "optimizer.name=adam",
                f"{base}; the run uses {opt.name}" + (" and its train loss barely fell" if stuck else ""),
                3.5 if stuck else 2.0,
            )
        )
    elif "loss_not_falling" in kinds:
        out.append(
            Remedy(
                "raise the learning rate",
                f"optimizer.lr={opt.lr * 10:g}",
                f"{base}; train loss barely fell with Adam at lr {opt.lr:g}",
                4.5,
            )
        )
    if model.name != "logreg" and recipe.dropout > 0:
        lower = 0.0 if recipe.dropout <= 0.1 else round(recipe.dropout / 2, 2)
        out.append(
            Remedy(
                "reduce regularization: lower dropout",
                f"{_dropout_key(recipe)}={lower:g}",
                f"{base}; dropout {recipe.dropout:g} holds the model back",
                3.0 if recipe.dropout >= 0.3 else 1.5,
            )
        )
    if recipe.regularization.l2 > 0:
        out.append(
            Remedy(
                "reduce regularization: remove the L2 penalty",
                "regularization.l2=0",
                f"{base}; L2 λ = {recipe.regularization.l2:g} shrinks the weights",
                2.5,
            )
        )
    if opt.weight_decay > 0:
        out.append(
            Remedy(
                "reduce regularization: remove weight decay",
                "optimizer.weight_decay=0",
                f"{base}; weight decay {opt.weight_decay:g} shrinks the weights",
                2.5,
            )
        )
    other = {
        "logreg": "cnn",
        "mlp": "cnn",
        "cnn": "crnn",
        "crnn": "cnn",
        "conformer_ctc": "lstm_ctc",
        "lstm_ctc": "conformer_ctc",
    }.get(model.name)
    if other is None:  # wav2vec2: the architecture comes with the checkpoint
        return out
    out.append(
        Remedy(
            f"modify the architecture: try a {other.upper() if '_' not in other else other}",
            f"model.name={other}",
            f"{base}; a different architecture may fit the audio better than the {model.name}",
            1.0 if model.name != "logreg" else 4.0,
        )
    )
    return out


def variance_remedies(recipe: Recipe, ctx: dict[str, Any]) -> list[Remedy]:
    base = ctx["variance_text"]
    rising = next((f for f in ctx["dynamics"] if f["kind"] == "dev_loss_rising"), None)
    helps = ctx.get("more_data_helps")
    out: list[Remedy] = [
        Remedy(
            "add more training data, e.g. synthesized speech (augment.synthesized.manifest=PATH)",
            None,
            f"{base}; "
            + (
                "the learning curve says more data is likely to help"
                if helps
                else f"the model saw {ctx['m'] or 'few'} training utterances"
            )
            + f" ({SYNTH_HINT})",
            5.0 if helps else 3.0,
        )
    ]
    reg = recipe.regularization
    if recipe.model.name != "logreg" and recipe.dropout < 0.3:
        out.append(
            Remedy(
                "add regularization: dropout",
                f"{_dropout_key(recipe)}=0.3",
                f"{base}; dropout is only {recipe.dropout:g}",
                3.5,
            )
        )
    if recipe.optimizer.weight_decay == 0:
        out.append(
            Remedy(
                "add regularization: L2 weight decay",
                "optimizer.weight_decay=0.0001",
                f"{base}; the weights are not penalized",
                3.0,
            )
        )
    if recipe.model.name == "logreg" or reg.l2 > 0:
        l2 = reg.l2 * 10 if reg.l2 > 0 else 0.01
        out.append(
            Remedy(
                "add regularization: the lecture's L2 penalty λ/(2m)·Σ‖w‖²",
                f"regularization.l2={l2:g}",
                f"{base}; L2 λ is {reg.l2:g}",
                3.0,
            )
        )
    if not reg.early_stopping.enabled:
        where = (
            f"dev loss was lowest at epoch {rising['epoch']}"
            if rising
            else "nothing stops training when dev stops improving"
        )
        out.append(
            Remedy(
                "add early stopping",
                "regularization.early_stopping.enabled=true",
                f"{base}; {where}",
                4.0 if rising else 2.5,
            )
        )
    elif rising:
        out.append(
            Remedy(
                "stop earlier: watch the dev loss with less patience",
                f"regularization.early_stopping.patience={max(1, reg.early_stopping.patience // 2)}",
                f"{base}; dev loss stopped improving at epoch {rising['epoch']} while train loss kept falling",
                2.5,
            )
        )
    smaller = _resize(recipe, 0.5)
    if smaller:
        out.append(
            Remedy(
                "decrease the model size (halve the width)",
                smaller,
                f"{base}; {_size_text(recipe)} can memorize the training set",
                2.0,
            )
        )
    aug = recipe.augment
    if all(f == 1.0 for f in aug.speed.factors):
        out.append(
            Remedy(
                "augment: speed perturbation",
                "augment.speed.factors=[0.9,1.0,1.1]",
                f"{base}; the run has no speed perturbation",
                2.8,
            )
        )
    if aug.specaugment.freq_masks < 2:
        out.append(
            Remedy(
                "augment: SpecAugment frequency masks",
                "augment.specaugment.freq_masks=2",
                f"{base}; {aug.specaugment.freq_masks} frequency mask(s) per utterance",
                2.6,
            )
        )
    if aug.noise.prob == 0:
        out.append(
            Remedy("augment: additive noise", "augment.noise.prob=0.5", f"{base}; training audio is never noised", 2.4)
        )
    return out


def mismatch_remedies(recipe: Recipe, ctx: dict[str, Any]) -> list[Remedy]:
    base = ctx["mismatch_text"]
    noise = recipe.augment.noise
    out: list[Remedy] = []
    if noise.prob < 0.5:
        out.append(
            Remedy(
                "make training audio more like dev: add noise",
                "augment.noise.prob=0.5",
                f"{base}; training audio is noised with probability {noise.prob:g}",
                3.5,
            )
        )
    if noise.snr[0] > 5:
        out.append(
            Remedy(
                "with noise on, draw harder SNRs (5–20 dB)",
                "augment.noise.snr=[5,20]",
                f"{base}; the noise SNR range is {noise.snr[0]:g}–{noise.snr[1]:g} dB",
                3.0,
            )
        )
    out.append(
        Remedy(
            "add synthesized speech like dev (augment.synthesized.manifest=PATH)", None, f"{base}; {SYNTH_HINT}", 2.5
        )
    )
    out.append(
        Remedy(
            "collect more data like dev",
            None,
            f"{base}; the surest fix is training audio from the dev/test conditions (speakers, channel, noise)",
            2.0,
        )
    )
    return out


def dev_overfit_remedies(recipe: Recipe, ctx: dict[str, Any]) -> list[Remedy]:
    dev_n = ctx.get("dev_utterances")
    size = f" of {dev_n} utterances" if dev_n else ""
    return [
        Remedy(
            "get a bigger dev set",
            None,
            f"{ctx['dev_overfit_text']}; decisions tuned on the dev set{size} do not carry over to test",
            1.0,
        )
    ]


REMEDIES = {
    "high_bias": bias_remedies,
    "high_variance": variance_remedies,
    "data_mismatch": mismatch_remedies,
    "dev_overfit": dev_overfit_remedies,
}


def recommend(
    recipe: Recipe,
    *,
    verdict: list[str],
    baseline: float,
    errors: dict[str, float | None],
    gaps: dict[str, float | None],
    history: list[dict[str, float]],
    dynamics: list[dict[str, Any]],
    metrics: dict[str, Any] | None = None,
    more_data_helps: bool | None = None,
) -> list[dict[str, Any]]:
    """The ranked ``{action, override, reason}`` list for ``verdict`` (empty for ``good``)."""
    metrics = metrics or {}
    e, g = errors, gaps
    vs_train = "train-dev" if e.get("train_dev") is not None else "dev"
    ctx: dict[str, Any] = {
        "history": history,
        "dynamics": dynamics,
        "kinds": {f["kind"] for f in dynamics},
        "more_data_helps": more_data_helps,
        "m": (metrics.get("train") or {}).get("utterances"),
        "dev_utterances": (metrics.get("dev") or {}).get("utterances"),
        "bias_text": f"train error {_n(e['train'])} is {_n(g['avoidable_bias'])} above the baseline {_n(baseline)}",
        "variance_text": f"{vs_train} error {_n(e['train_dev'] if e.get('train_dev') is not None else e['dev'])} "
        f"is {_n(g['variance'])} above the train error {_n(e['train'])}",
        "mismatch_text": f"dev error {_n(e['dev'])} is {_n(g['data_mismatch'])} above the train-dev error "
        f"{_n(e.get('train_dev'))} (same model, audio from the training distribution)",
        "dev_overfit_text": f"test error {_n(e.get('test'))} is {_n(g['dev_overfit'])} above the dev "
        f"error {_n(e['dev'])}",
    }
    gap_of = {v: k for k, v in VERDICT_OF.items()}
    problems = sorted((v for v in verdict if v in REMEDIES), key=lambda v: -(gaps.get(gap_of[v]) or 0.0))
    ranked: list[Remedy] = []
    seen: dict[str, Remedy] = {}
    for problem in problems:
        for remedy in sorted(REMEDIES[problem](recipe, ctx), key=lambda r: -r.score):
            if remedy.override is not None and remedy.override in seen:
                seen[remedy.override].reason += f"; also: {remedy.reason}"
                continue
            if remedy.override is not None:
                seen[remedy.override] = remedy
            ranked.append(remedy)
    return [r.to_dict() for r in ranked]
