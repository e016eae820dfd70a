"""Holm, Benjamini-Hochberg and Bonferroni against statsmodels multipletests."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_prodguard.ab import adjust_pvalues

multitest = pytest.importorskip("statsmodels.stats.multitest")

REFERENCE = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}


@pytest.mark.parametrize("method", sorted(REFERENCE))
@pytest.mark.parametrize("seed", range(6))
def test_matches_multipletests(method, seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 40))
    # A mix of tiny, moderate and large p-values, with ties.
    pvalues = np.concatenate([rng.uniform(0, 0.05, size), rng.uniform(0, 1, size)])
    pvalues[::7] = pvalues[0]
    expected = multitest.multipletests(pvalues, method=REFERENCE[method])[1]
    assert adjust_pvalues(list(pvalues), method) == pytest.approx(expected, rel=1e-12)


def test_mapping_keeps_names_and_default_is_holm():
    adjusted = adjust_pvalues({"conversion": 0.01, "revenue": 0.04, "retention": 0.03})
    assert adjusted == pytest.approx({"conversion": 0.03, "revenue": 0.06, "retention": 0.06})


def test_single_p_value_is_unchanged():
    assert adjust_pvalues([0.03], "bh") == [0.03]
