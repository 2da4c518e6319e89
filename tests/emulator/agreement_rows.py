"""The agreement-table row the tool must print for a hand-counted confusion table."""

from __future__ import annotations


def cp_by_definition(k: int, n: int, cl: float = 0.683) -> tuple[float, float]:
    """Central Clopper-Pearson interval from its definition: the p where P(X >= k | p) and
    P(X <= k | p) reach (1 - cl) / 2, solved with the binomial cdf (not the beta quantile)."""
    from scipy.optimize import brentq
    from scipy.stats import binom

    a = (1.0 - cl) / 2
    lo = 0.0 if k == 0 else brentq(lambda p: binom.sf(k - 1, n, p) - a, 1e-12, 1 - 1e-12)
    hi = 1.0 if k == n else brentq(lambda p: binom.cdf(k, n, p) - a, 1e-12, 1 - 1e-12)
    return lo, hi


def printed_row(name: str, table: list[list[int]]) -> tuple[str, ...]:
    """The agreement table row the tool must print for a hand-counted confusion table."""
    (both_fail, emu_only), (rec_only, both_pass) = table
    n, k = both_fail + emu_only + rec_only + both_pass, both_fail + both_pass
    lo, hi = cp_by_definition(k, n)
    agree = f"{100 * k / n:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
    return (name, agree, str(both_pass), str(both_fail), str(emu_only), str(rec_only))
