"""Evaluation: run a trained task over a manifest and measure it with the task's metric."""
