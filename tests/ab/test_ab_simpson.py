"""Simpson's paradox on published data, and no false alarm on consistent segments."""

from __future__ import annotations

import pytest

from pytest_prodguard.ab import Mean, Proportion, simpson_check

# Charig et al. (1986), BMJ 292:879, as reported by Julious & Mullee (1994), BMJ 309:1480.
# Successes / patients. Treatment A: open surgery; treatment B: percutaneous nephrolithotomy.
KIDNEY_A = {"small stones": (81, 87), "large stones": (192, 263)}
KIDNEY_B = {"small stones": (234, 270), "large stones": (55, 80)}

# Bickel, Hammel & O'Connell (1975), Science 187:398: the six largest departments.
# (admitted, applicants) for men and for women.
BERKELEY_MEN = {
    "A": (512, 825),
    "B": (353, 560),
    "C": (120, 325),
    "D": (138, 417),
    "E": (53, 191),
    "F": (22, 373),
}
BERKELEY_WOMEN = {
    "A": (89, 108),
    "B": (17, 25),
    "C": (202, 593),
    "D": (131, 375),
    "E": (94, 393),
    "F": (24, 341),
}


def _pairs(control, treatment):
    return {name: (Proportion(*control[name]), Proportion(*treatment[name])) for name in control}


def test_kidney_stones_are_a_paradox_in_every_segment():
    result = simpson_check(_pairs(KIDNEY_B, KIDNEY_A))
    assert result.paradox
    assert result.rule == "every segment"
    assert result.pooled.absolute_lift == pytest.approx(273 / 350 - 289 / 350)
    assert result.pooled.absolute_lift < 0
    assert [effect.direction for effect in result.segments] == [1, 1]
    assert result.segments[0].absolute_lift == pytest.approx(81 / 87 - 234 / 270)
    # The confounder: B got mostly small stones, A mostly large ones.
    assert result.control_shares["small stones"] == pytest.approx(270 / 350)
    assert result.treatment_shares["small stones"] == pytest.approx(87 / 350)
    assert result.mix_differs
    assert result.weighted_lift > 0
    text = result.explanation(rate=True)
    assert "every segment points the other way" in text
    assert "77% of control vs 25% of treatment" in text


def test_kidney_stones_reversed_arms_are_still_a_paradox():
    assert simpson_check(_pairs(KIDNEY_A, KIDNEY_B)).rule == "every segment"


def test_berkeley_is_not_an_every_segment_reversal():
    # Pooled, women were admitted less often (30% vs 45%), but in four of six departments
    # more often: not every segment reverses. Only department A's difference is
    # significant on its own, and it favours women, so the significant-segment rule fires.
    result = simpson_check(_pairs(BERKELEY_MEN, BERKELEY_WOMEN))
    assert result.pooled.direction == -1
    assert sorted(effect.name for effect in result.segments if effect.direction > 0) == [
        "A", "B", "D", "F"
    ]  # fmt: skip
    assert not result.reversed_in_every_segment
    assert [effect.name for effect in result.segments if effect.significant] == ["A"]
    assert result.reversed_in_significant_segments
    assert result.rule == "every significant segment"
    # With a stricter alpha no segment is significant and nothing fires.
    assert not simpson_check(_pairs(BERKELEY_MEN, BERKELEY_WOMEN), alpha=1e-6).paradox


def test_segments_that_agree_with_the_pooled_direction_are_not_a_paradox():
    consistent = {
        "web": (Proportion(100, 1000), Proportion(130, 1000)),
        "app": (Proportion(300, 1000), Proportion(330, 1000)),
        "tablet": (Proportion(20, 200), Proportion(22, 200)),
    }
    result = simpson_check(consistent)
    assert not result.paradox
    assert result.rule is None
    assert "does not contradict" in result.explanation(rate=True)


def test_mixed_segment_directions_without_significance_are_not_a_paradox():
    segments = {
        "a": (Proportion(100, 1000), Proportion(105, 1000)),
        "b": (Proportion(100, 1000), Proportion(95, 1000)),
    }
    assert not simpson_check(segments).paradox


def test_paradox_with_means():
    # Premium users spend more; treatment got mostly non-premium users, so its pooled mean
    # is lower although it is higher within both segments.
    segments = {
        "premium": (Mean(800, 50.0, 10.0), Mean(200, 52.0, 10.0)),
        "basic": (Mean(200, 10.0, 5.0), Mean(800, 11.0, 5.0)),
    }
    result = simpson_check(segments)
    assert result.paradox
    assert result.pooled.control.mean == pytest.approx(42.0)
    assert result.pooled.treatment.mean == pytest.approx((200 * 52 + 800 * 11) / 1000)
    assert result.weighted_lift == pytest.approx(0.5 * 2.0 + 0.5 * 1.0)
