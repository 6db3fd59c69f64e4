"""Do two splits (dev and test) come from one distribution? Two-sample tests on what the manifest says.

Categorical properties (labels, languages, sample rates) use the chi-square test of homogeneity on the
2 × k table of counts (:func:`scipy.stats.chi2_contingency`); continuous ones (durations, utterances per
speaker) the two-sample Kolmogorov–Smirnov test (:func:`scipy.stats.ks_2samp`). A p-value below ``alpha``
(0.01) says the two splits very likely differ: a dev score would then not predict the test score.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from speechforge.data.manifest import Manifest

ALPHA = 0.01
CHI_SQUARE = "chi-square"
KS = "Kolmogorov-Smirnov"


def compare_splits(a: Manifest, b: Manifest, *, alpha: float = ALPHA) -> dict[str, dict[str, Any]]:
    """Test each property of ``a`` against ``b``: ``{property: {test, statistic, p_value, same_distribution,
    detail}}`` for ``labels`` (when labelled), ``duration``, ``speakers`` (utterances per speaker, when
    speakers are known), ``languages`` and ``sample_rate`` (when there is more than one value)."""
    if not len(a) or not len(b):
        return {}
    results: dict[str, dict[str, Any]] = {}
    for name, values in (("labels", "label"), ("languages", "language"), ("sample_rate", "sample_rate")):
        ca = Counter(str(u.get(values)) for u in a if u.get(values) is not None)
        cb = Counter(str(u.get(values)) for u in b if u.get(values) is not None)
        if not ca or not cb or (name != "labels" and len(ca | cb) < 2):
            continue
        results[name] = chi_square(ca, cb, alpha=alpha)
    results["duration"] = ks_test([u.duration for u in a], [u.duration for u in b], alpha=alpha, unit=" s")
    sa = Counter(u.speaker for u in a if u.speaker is not None)
    sb = Counter(u.speaker for u in b if u.speaker is not None)
    if sa and sb:
        results["speakers"] = ks_test(list(sa.values()), list(sb.values()), alpha=alpha, unit=" utt/speaker")
    order = ("labels", "duration", "speakers", "languages", "sample_rate")
    return {name: results[name] for name in order if name in results}


def chi_square(a: Mapping[str, int], b: Mapping[str, int], *, alpha: float = ALPHA) -> dict[str, Any]:
    """Chi-square test of homogeneity of two count tables (categories seen in neither are dropped)."""
    from scipy.stats import chi2_contingency

    keys = sorted(set(a) | set(b))
    shares = ", ".join(f"{k}: {_share(a, k)}/{_share(b, k)}" for k in keys[:6]) + (", ..." if len(keys) > 6 else "")
    if len(keys) < 2:  # one category on both sides: identical by construction
        return _result(CHI_SQUARE, 0.0, 1.0, alpha, f"a single value ({keys[0]}) in both")
    table = np.array([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]], dtype=float)
    statistic, p_value, _, _ = chi2_contingency(table)
    return _result(CHI_SQUARE, float(statistic), float(p_value), alpha, f"share % {shares}")


def ks_test(a: Sequence[float], b: Sequence[float], *, alpha: float = ALPHA, unit: str = "") -> dict[str, Any]:
    """Two-sample Kolmogorov–Smirnov test; the detail gives both medians."""
    from scipy.stats import ks_2samp

    res = ks_2samp(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    detail = f"median {np.median(a):.3g}{unit} vs {np.median(b):.3g}{unit}"
    return _result(KS, float(res.statistic), float(res.pvalue), alpha, detail)


def _share(counts: Mapping[str, int], key: str) -> str:
    total = sum(counts.values())
    return f"{100 * counts.get(key, 0) / total:.0f}" if total else "0"


def _result(test: str, statistic: float, p_value: float, alpha: float, detail: str) -> dict[str, Any]:
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {
        "test": test,
        "statistic": round(statistic, 6),
        "p_value": p_value,
        "same_distribution": bool(p_value >= alpha),
        "detail": detail,
    }


def robust_z(x: np.ndarray) -> np.ndarray:
    """Robust z-scores ``0.6745·(x − median) / MAD``; when the MAD is 0 the mean absolute deviation
    (× 1.2533) stands in, and all scores are 0 when there is no spread at all."""
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad > 0:
        return np.asarray(0.6745 * (x - med) / mad)
    mean_ad = np.mean(np.abs(x - med))
    return np.asarray((x - med) / (1.2533 * mean_ad)) if mean_ad > 0 else np.zeros_like(x)
