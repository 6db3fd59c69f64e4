"""Losses against the lecture's formulas, hand computations and PyTorch's references."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from speechforge.errors import SpeechforgeError
from speechforge.losses import (
    LOSS_NAMES,
    BinaryCrossEntropy,
    CrossEntropy,
    FocalLoss,
    build_loss,
    inverse_frequency_weights,
)


def _binary_example() -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0], [0.0]])  # (batch, 1)
    targets = torch.tensor([1, 0, 0, 1, 1])  # (batch,)
    return logits, targets


def _multiclass_example() -> tuple[torch.Tensor, torch.Tensor]:
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-2.0, 3.0, 0.0], [1.0, 1.0, 4.0]])
    targets = torch.tensor([0, 2, 0, 1])
    return logits, targets


def test_bce_is_the_lecture_formula() -> None:
    logits, targets = _binary_example()
    y_hat = [1 / (1 + math.exp(-z)) for z in logits[:, 0].tolist()]  # ŷ = 1 / (1 + e^(−wᵀx))
    y = targets.tolist()
    m = len(y)
    expected = -sum(yi * math.log(p) + (1 - yi) * math.log(1 - p) for yi, p in zip(y, y_hat, strict=True)) / m
    assert BinaryCrossEntropy()(logits, targets).item() == pytest.approx(expected, rel=1e-6)
    # At z = 0 the model says ŷ = 0.5 for everything: J = log 2 whatever the labels.
    assert BinaryCrossEntropy()(torch.zeros(4, 1), torch.tensor([0, 1, 1, 0])).item() == pytest.approx(math.log(2))


def test_bce_stays_finite_where_the_literal_formula_overflows() -> None:
    logits, targets = torch.tensor([[100.0], [-100.0]], requires_grad=True), torch.tensor([0, 1])
    loss = BinaryCrossEntropy()(logits, targets)
    assert loss.item() == pytest.approx(100.0)  # −log(1 − σ(100)) = 100 (+ e^−100)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    y_hat = torch.sigmoid(logits.detach()[:, 0])
    literal = -(targets * torch.log(y_hat) + (1 - targets) * torch.log(1 - y_hat)).mean()
    assert not torch.isfinite(literal)  # log(0): why the loss works on logits


def test_bce_pos_weight_scales_the_positive_term() -> None:
    logits, targets = _binary_example()
    loss = BinaryCrossEntropy(pos_weight=3.0)(logits, targets)
    reference = F.binary_cross_entropy_with_logits(logits[:, 0], targets.float(), pos_weight=torch.tensor(3.0))
    torch.testing.assert_close(loss, reference)
    p = torch.sigmoid(logits[:, 0])
    by_hand = -(3.0 * targets * p.log() + (1 - targets) * (1 - p).log()).mean()
    torch.testing.assert_close(loss, by_hand)


def test_bce_rejects_multi_column_logits_and_bad_targets() -> None:
    with pytest.raises(SpeechforgeError, match=r"one logit per example.*'ce'"):
        BinaryCrossEntropy()(torch.zeros(3, 2), torch.tensor([0, 1, 1]))
    with pytest.raises(SpeechforgeError, match="target 2 is not a class id"):
        BinaryCrossEntropy()(torch.zeros(3, 1), torch.tensor([0, 1, 2]))
    with pytest.raises(SpeechforgeError, match="integer class ids"):
        BinaryCrossEntropy()(torch.zeros(3, 1), torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(SpeechforgeError, match="pos_weight"):
        BinaryCrossEntropy(pos_weight=0.0)


def test_ce_is_minus_mean_log_softmax_of_the_true_class() -> None:
    logits, targets = _multiclass_example()
    by_hand = 0.0
    for row, y in zip(logits.tolist(), targets.tolist(), strict=True):
        by_hand -= row[y] - math.log(sum(math.exp(v) for v in row))
    by_hand /= len(targets)
    loss = CrossEntropy()(logits, targets)
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)
    torch.testing.assert_close(loss, F.cross_entropy(logits, targets))


def test_class_weights_are_a_weighted_mean_of_the_nll() -> None:
    logits, targets = _multiclass_example()
    weights = torch.tensor([1.0, 4.0, 0.5])
    loss = CrossEntropy(class_weights=weights)(logits, targets)
    nll = -F.log_softmax(logits, dim=-1)[torch.arange(4), targets]
    by_hand = (weights[targets] * nll).sum() / weights[targets].sum()
    torch.testing.assert_close(loss, by_hand)
    torch.testing.assert_close(loss, F.cross_entropy(logits, targets, weight=weights))
    # Example 3 (class 1) is the worst classified: weighting class 1 up raises the loss.
    assert loss > CrossEntropy()(logits, targets)
    assert CrossEntropy(class_weights=[1.0, 0.25, 1.0])(logits, targets) < CrossEntropy()(logits, targets)


@pytest.mark.parametrize("weights", [None, [1.0, 4.0, 0.5]])
def test_label_smoothing_matches_the_formula_and_pytorch(weights: list[float] | None) -> None:
    logits, targets = _multiclass_example()
    eps = 0.1
    loss = CrossEntropy(class_weights=weights, label_smoothing=eps)(logits, targets)
    w = None if weights is None else torch.tensor(weights)
    torch.testing.assert_close(loss, F.cross_entropy(logits, targets, weight=w, label_smoothing=eps))
    if weights is None:
        log_p = F.log_softmax(logits, dim=-1)
        smoothed = torch.full_like(log_p, eps / 3).scatter_(1, targets[:, None], 1 - eps + eps / 3)
        torch.testing.assert_close(loss, -(smoothed * log_p).sum(1).mean())
    # A perfectly confident correct prediction is no longer free: smoothing keeps a floor on the loss.
    confident = torch.tensor([[20.0, 0.0, 0.0]])
    assert CrossEntropy()(confident, torch.tensor([0])).item() < 1e-6
    assert CrossEntropy(label_smoothing=eps)(confident, torch.tensor([0])).item() > 1.0


def test_inverse_frequency_weights() -> None:
    counts = [90, 9, 1]
    w = inverse_frequency_weights(counts)
    assert float((w * torch.tensor(counts, dtype=torch.float32)).sum()) == pytest.approx(sum(counts))
    assert w.tolist() == pytest.approx([100 / 270, 100 / 27, 100 / 3])
    assert inverse_frequency_weights([5, 5, 5]).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(SpeechforgeError, match="class 'no' has 0 training examples"):
        inverse_frequency_weights([4, 0], class_names=["yes", "no"])
    with pytest.raises(SpeechforgeError, match="class '1'"):
        inverse_frequency_weights([4, 0])


def test_focal_without_focusing_is_cross_entropy() -> None:
    logits, targets = _multiclass_example()
    torch.testing.assert_close(FocalLoss(gamma=0.0)(logits, targets), F.cross_entropy(logits, targets))
    logits, targets = _binary_example()
    torch.testing.assert_close(FocalLoss(gamma=0.0)(logits, targets), BinaryCrossEntropy()(logits, targets))


def test_focal_matches_lin_et_al_by_hand() -> None:
    logits, targets = _multiclass_example()
    p_t = F.softmax(logits, dim=-1)[torch.arange(4), targets]
    alpha = torch.tensor([0.25, 0.5, 1.0])
    expected = (-alpha[targets] * (1 - p_t) ** 2 * p_t.log()).mean()
    torch.testing.assert_close(FocalLoss(gamma=2.0, alpha=alpha.tolist())(logits, targets), expected)
    # Binary, scalar α: α for positives, 1 − α for negatives.
    logits, targets = _binary_example()
    p = torch.sigmoid(logits[:, 0])
    p_t = torch.where(targets == 1, p, 1 - p)
    alpha_t = torch.where(targets == 1, 0.25, 0.75)
    expected = (-alpha_t * (1 - p_t) ** 2 * p_t.log()).mean()
    torch.testing.assert_close(FocalLoss(gamma=2.0, alpha=0.25)(logits, targets), expected)


def test_focal_down_weights_well_classified_examples() -> None:
    easy = torch.tensor([[4.0, 0.0, 0.0]])  # p_t ≈ 0.96
    hard = torch.tensor([[0.0, 1.0, 0.0]])  # p_t ≈ 0.21
    target = torch.tensor([0])
    easy_losses = [FocalLoss(gamma=g)(easy, target).item() for g in (0.0, 0.5, 1.0, 2.0, 5.0)]
    assert all(b < a for a, b in itertools.pairwise(easy_losses))
    # The easy example loses far more of its weight than the hard one.
    shrink_easy = FocalLoss(gamma=2.0)(easy, target) / FocalLoss(gamma=0.0)(easy, target)
    shrink_hard = FocalLoss(gamma=2.0)(hard, target) / FocalLoss(gamma=0.0)(hard, target)
    assert shrink_easy < 0.01 < 0.5 < shrink_hard


def test_focal_gradients_stay_finite_when_saturated() -> None:
    logits = torch.tensor([[60.0, -60.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    loss = FocalLoss(gamma=0.5)(logits, torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None and torch.isfinite(logits.grad).all()


def test_focal_alpha_errors() -> None:
    logits, targets = _multiclass_example()
    with pytest.raises(SpeechforgeError, match="one alpha per class"):
        FocalLoss(alpha=0.25)(logits, targets)
    with pytest.raises(SpeechforgeError, match="2 alpha values given for 3 classes"):
        FocalLoss(alpha=[0.5, 0.5])(logits, targets)
    with pytest.raises(SpeechforgeError, match="gamma"):
        FocalLoss(gamma=-1.0)


def test_build_loss() -> None:
    assert LOSS_NAMES == ("bce", "ce", "focal")
    assert isinstance(build_loss("bce", 1, pos_weight=2.0), BinaryCrossEntropy)
    ce = build_loss("ce", 3, class_weights=[1.0, 2.0, 3.0], label_smoothing=0.1)
    assert isinstance(ce, CrossEntropy) and ce.class_weights is not None
    assert isinstance(build_loss("focal", 1, gamma=1.0, alpha=0.25), FocalLoss)
    with pytest.raises(SpeechforgeError, match="allowed: bce, ce, focal"):
        build_loss("hinge", 3)
    with pytest.raises(SpeechforgeError, match=r"unknown option.*gamma.*allowed: class_weights, label_smoothing"):
        build_loss("ce", 3, gamma=2.0)
    with pytest.raises(SpeechforgeError, match="one output"):
        build_loss("bce", 10)
    with pytest.raises(SpeechforgeError, match="at least two outputs"):
        build_loss("ce", 1)
    with pytest.raises(SpeechforgeError, match="class_weights has 2 values, the model has 3 classes"):
        build_loss("ce", 3, class_weights=[1.0, 2.0])


def test_losses_follow_the_module_to_another_dtype() -> None:
    logits, targets = _multiclass_example()
    loss = CrossEntropy(class_weights=[1.0, 2.0, 3.0]).double()
    assert loss(logits.double(), targets).dtype == torch.float64
