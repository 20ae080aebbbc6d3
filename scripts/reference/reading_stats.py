#!/usr/bin/python3
"""Reference values for test/eval/binomial.test.ts and test/eval/rater-agreement.test.ts.

    /usr/bin/python3 scripts/reference/reading_stats.py

Independent of the TypeScript: the binomial test sums exact binomial probabilities in
rational arithmetic (fractions.Fraction, math.comb); the Wilson interval is the textbook
formula; Fleiss' kappa is computed exactly in fractions on Wikipedia's worked example
(10 subjects, 14 raters, 5 categories; published kappa 0.210). No scipy needed.
"""
from fractions import Fraction
from math import comb, sqrt


def binom_two_sided(k, n, p):
    """scipy.stats.binomtest / R binom.test two-sided rule: outcomes no likelier than k."""
    p = Fraction(p)
    pmf = [comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    d = pmf[k]
    return float(min(1, sum(x for x in pmf if x <= d * Fraction(1 + 10**-7))))


def wilson(k, n, z=1.959963984540054):
    ph = k / n
    den = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / den
    h = z / den * sqrt(ph * (1 - ph) / n + z * z / (4 * n * n))
    return (c - h, c + h)


for k, n, p in [(7, 10, '1/2'), (66, 100, '1/2'), (330, 500, '1/2'), (460, 500, '1/2'), (0, 20, '1/2'),
                (3, 10, '3/10'), (2, 10, '3/10'), (8, 12, '1/4'), (99, 1000, '1/2')]:
    print('binom', k, n, p, repr(binom_two_sided(k, n, Fraction(p))))
for k, n in [(81, 263), (15, 148), (0, 20), (1, 29), (66, 100)]:
    print('wilson', k, n, wilson(k, n))

t = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
     [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
N, m = len(t), 14
P = [Fraction(sum(c * c for c in r) - m, m * (m - 1)) for r in t]
Pb = sum(P) / N
pj = [Fraction(sum(r[j] for r in t), N * m) for j in range(5)]
Pe = sum(x * x for x in pj)
print('fleiss observed', float(Pb), 'chance', float(Pe), 'kappa', float((Pb - Pe) / (1 - Pe)))
