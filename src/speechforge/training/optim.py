"""Optimizers, the lecture's explicit L2 penalty, and learning-rate schedules with warm-up."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from speechforge.training.recipe import OptimizerConfig, ScheduleConfig


def decayed_parameters(model: nn.Module, include_frozen: bool = False) -> Iterable[nn.Parameter]:
    """The weights w the lecture's L2 term penalizes: not biases, not normalization scales."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._NormBase | nn.LayerNorm | nn.GroupNorm):
            continue
        for name, param in module.named_parameters(recurse=False):
            if (param.requires_grad or include_frozen) and not name.startswith("bias"):
                yield param


def l2_penalty(model: nn.Module, lam: float, m: int) -> torch.Tensor:
    """The lecture's λ/(2m)·Σ‖w‖², with m the number of training examples.

    Added to each mini-batch's mean loss, so that summed over an epoch's batches (weighted by their size) it
    is exactly the full-batch objective J(w) = 1/m Σ L + λ/(2m) Σ‖w‖².
    """
    total = sum((p.pow(2).sum() for p in decayed_parameters(model)), torch.zeros(()))
    return total * (lam / (2.0 * m))


def build_optimizer(
    model: nn.Module, cfg: OptimizerConfig, groups: list[dict[str, Any]] | None = None
) -> torch.optim.Optimizer:
    """The optimizer the recipe names; ``weight_decay`` applies to weights only (not biases or norms).

    ``groups``: parameter groups with their own ``lr`` (e.g. wav2vec2's layer-wise rates); every group is split
    into its decayed and non-decayed parameters. Without groups every trainable parameter gets ``cfg.lr``.
    Parameters frozen now but in a group (an encoder unfrozen after some epochs) are kept in the optimizer.
    """
    decay_ids = {id(p) for p in decayed_parameters(model, include_frozen=groups is not None)}
    if groups is None:
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": cfg.lr}]
    split: list[dict[str, Any]] = []
    for group in groups:
        params = list(group["params"])
        for decayed in (True, False):
            chosen = [p for p in params if (id(p) in decay_ids) == decayed]
            if chosen:
                split.append(
                    {"params": chosen, "lr": group["lr"], "weight_decay": cfg.weight_decay if decayed else 0.0}
                )
    groups = split
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum)


class EpochSchedule:
    """A learning-rate schedule stepped once per epoch: linear warm-up from lr/10, then step, cosine,
    reduce-on-plateau or constant. ``step(dev_metric)`` is called at the end of every epoch."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, max_epochs: int) -> None:
        self.optimizer = optimizer
        self.cfg = cfg
        self.epoch = 0
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        main_epochs = max(1, max_epochs - cfg.warmup_epochs)
        self.main: Any
        if cfg.name == "step":
            self.main = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
        elif cfg.name == "cosine":
            self.main = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=main_epochs, eta_min=cfg.min_lr)
        elif cfg.name == "plateau":
            self.main = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr
            )
        else:
            self.main = None
        if cfg.warmup_epochs:
            self._set_warmup_lr()

    def _set_warmup_lr(self) -> None:
        # Linear from lr/10 at epoch 0 to lr at epoch warmup_epochs.
        scale = 0.1 + 0.9 * min(1.0, self.epoch / self.cfg.warmup_epochs)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * scale

    def step(self, dev_metric: float | None = None) -> None:
        self.epoch += 1
        if self.epoch <= self.cfg.warmup_epochs:
            self._set_warmup_lr()
            return
        if isinstance(self.main, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if dev_metric is not None:
                self.main.step(dev_metric)
        elif self.main is not None:
            self.main.step()

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "main": self.main.state_dict() if self.main is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        if self.main is not None and state.get("main") is not None:
            self.main.load_state_dict(state["main"])
