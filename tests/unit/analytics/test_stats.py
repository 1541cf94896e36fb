"""The statistics of brand learning against published and closed-form values.

Sources: Student's t with 1 and 2 degrees of freedom has a closed-form CDF (Cauchy:
1/2 + atan(t)/pi; df=2: 1/2 + t / (2 sqrt(2 + t^2))); t table quantiles (any statistics
textbook, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2); scipy's documented Mann-Whitney example;
R's p.adjust(method = "BH"). The two-sided p of the t is also checked against a Simpson
integration of the t density, an independent computation.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest

from jobctl.services.analytics.stats import (
    average_ranks,
    benjamini_hochberg,
    mann_whitney_u,
    regularized_beta,
    student_t_sf,
    t_quantile,
    t_two_sided_p,
    welch_test,
)


def _t_pdf(x: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def _simpson_two_sided(t: float, df: float, steps: int = 20000) -> float:
    h = t / steps
    inner = sum((4 if k % 2 else 2) * _t_pdf(k * h, df) for k in range(1, steps))
    central = h / 3 * (_t_pdf(0, df) + inner + _t_pdf(t, df))
    return 1.0 - 2.0 * central


def test_regularized_beta_closed_forms() -> None:
    assert regularized_beta(0.5, 2, 3) == pytest.approx(11 / 16, abs=1e-13)
    for x in (0.01, 0.3, 0.77, 0.999):
        assert regularized_beta(x, 1, 1) == pytest.approx(x, abs=1e-13)
        assert regularized_beta(x, 3.5, 1) == pytest.approx(x**3.5, rel=1e-11)
        assert regularized_beta(x, 2, 5) + regularized_beta(1 - x, 5, 2) == pytest.approx(1.0, abs=1e-13)
    assert regularized_beta(0.0, 2, 2) == 0.0 and regularized_beta(1.0, 2, 2) == 1.0


@pytest.mark.parametrize("t", [0.1, 0.8, 1.96, 3.0, 12.7])
def test_t_tails_match_closed_forms_for_1_and_2_df(t: float) -> None:
    assert student_t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, abs=1e-12)
    assert student_t_sf(t, 2) == pytest.approx(0.5 - t / (2 * math.sqrt(2 + t * t)), abs=1e-12)
    assert student_t_sf(-t, 2) == pytest.approx(1 - student_t_sf(t, 2), abs=1e-12)


@pytest.mark.parametrize(("t", "df"), [(2.0, 10), (1.3, 5.88), (2.6, 37.2), (0.4, 3)])
def test_two_sided_p_matches_numerical_integration(t: float, df: float) -> None:
    assert t_two_sided_p(t, df) == pytest.approx(_simpson_two_sided(t, df), abs=1e-9)
    assert t_two_sided_p(2.0, 10) == pytest.approx(0.0733880348, abs=1e-9)


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [(0.975, 1, 12.706204736), (0.975, 10, 2.228138852), (0.995, 5, 4.032142984),
     (0.975, 30, 2.042272456), (0.95, 20, 1.724718243), (0.025, 10, -2.228138852)],
)  # fmt: skip
def test_t_quantiles_are_the_table_values(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-8)


def test_t_tends_to_the_normal() -> None:
    assert t_quantile(0.975, 1e7) == pytest.approx(NormalDist().inv_cdf(0.975), abs=1e-5)
    assert t_quantile(0.5, 4) == 0.0
    with pytest.raises(ValueError):
        t_quantile(1.0, 4)


def test_welch_by_hand() -> None:
    # a: mean 3, var 2.5; b: mean 6, var 10 -> se^2 = 0.5 + 2 = 2.5, t = -3 / sqrt(2.5),
    # df = 2.5^2 / (0.5^2 / 4 + 2^2 / 4) = 100 / 17 (R's t.test gives t -1.8974, df 5.8824,
    # p 0.1075, 95% CI -6.887742 .. 0.887742).
    r = welch_test([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert (r.mean_a, r.mean_b, r.n_a, r.n_b) == (3.0, 6.0, 5, 5)
    assert r.t == pytest.approx(-3 / math.sqrt(2.5), abs=1e-12)
    assert r.df == pytest.approx(100 / 17, abs=1e-12)
    assert r.p_value == pytest.approx(_simpson_two_sided(3 / math.sqrt(2.5), 100 / 17), abs=1e-9)
    assert r.p_value == pytest.approx(0.1075, abs=1e-4)
    half = t_quantile(0.975, 100 / 17) * math.sqrt(2.5)
    assert (r.ci_low, r.ci_high) == (pytest.approx(-3 - half), pytest.approx(-3 + half))
    assert r.ci_low == pytest.approx(-6.887742, abs=1e-6) and r.ci_high == pytest.approx(0.887742, abs=1e-6)


def test_welch_degenerate_and_too_small() -> None:
    same = welch_test([0.1, 0.1, 0.1], [0.1, 0.1])
    assert same.p_value == 1.0 and same.t == 0.0
    apart = welch_test([0.2, 0.2], [0.1, 0.1])
    assert apart.p_value == 0.0 and apart.t == math.inf
    with pytest.raises(ValueError):
        welch_test([1.0], [1.0, 2.0])


def test_mann_whitney_matches_scipys_documented_example() -> None:
    # scipy.stats.mannwhitneyu(males, females, method="asymptotic"): U=17.0, p=0.11134688653314041
    males, females = [19, 22, 16, 29, 24], [20, 11, 17, 12]
    r = mann_whitney_u(males, females)
    assert r.u == 17.0 and r.p_value == pytest.approx(0.11134688653314041, abs=1e-12)
    assert r.superiority == pytest.approx(17 / 20)
    back = mann_whitney_u(females, males)
    assert back.u == 3.0 and back.p_value == pytest.approx(r.p_value) and back.z == pytest.approx(-r.z)


def test_mann_whitney_ties_by_hand() -> None:
    # a=[1,2,2], b=[2,3]: ranks 1, 3, 3 | 3, 5 -> R_a = 7, U_a = 7 - 6 = 1; ties: one group of 3.
    # var = 3*2/12 * (6 - (27-3)/(5*4)) = 0.5 * 4.8 = 2.4; z = -(|1-3| - 0.5)/sqrt(2.4).
    assert average_ranks([1, 2, 2, 2, 3]) == ([1.0, 3.0, 3.0, 3.0, 5.0], [3])
    r = mann_whitney_u([1, 2, 2], [2, 3])
    assert r.u == 1.0 and r.z == pytest.approx(-1.5 / math.sqrt(2.4))
    assert r.p_value == pytest.approx(2 * NormalDist().cdf(-1.5 / math.sqrt(2.4)))
    assert mann_whitney_u([5, 5], [5, 5, 5]).p_value == 1.0


def test_mann_whitney_is_calibrated_under_the_null() -> None:
    rng = random.Random(7)
    hits = sum(
        mann_whitney_u(
            [rng.lognormvariate(0, 1) for _ in range(12)], [rng.lognormvariate(0, 1) for _ in range(40)]
        ).p_value
        < 0.05
        for _ in range(2000)
    )
    assert 0.03 < hits / 2000 < 0.07


def test_benjamini_hochberg_as_r_p_adjust() -> None:
    assert benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05] * 5)
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # R: p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205), "BH")
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    expected = [0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.0845714, 0.205]
    assert benjamini_hochberg(p) == pytest.approx(expected, abs=1e-6)
    assert benjamini_hochberg([]) == [] and benjamini_hochberg([0.9, 0.99]) == [0.99, 0.99]
