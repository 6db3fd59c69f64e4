"""Evaluation metrics: the right measure for each task (lecture: "Evaluation metric")."""
