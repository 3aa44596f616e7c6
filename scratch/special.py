"""The error function in NumPy, vectorised (NumPy has none; ``math.erf`` is one scalar at a
time). Cephes' rational approximations (``ndtr.c``): on |x| <= 1, erf(x) = x T(x^2) / U(x^2);
beyond, erf(x) = sign(x) (1 - erfc(|x|)) with erfc(x) = e^(-x^2) P(x) / Q(x) for x < 8 and
e^(-x^2) R(x) / S(x) from 8 on. Computed in float64: within 3 ulp of ``math.erf``.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray

# Coefficients, highest power first; U, Q and S have an implicit leading 1.
_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_U = (
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_Q = (
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_S = (
    1.0,
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)


def _horner(c: tuple[float, ...], x: Array) -> Array:
    r = np.full_like(x, c[0])
    for k in c[1:]:
        r = r * x + k
    return r


def erf(x: Array | float) -> Array:
    """erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt, elementwise, as float64."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        x2 = x * x  # overflows to inf beyond 1.3e154, where erf is +-1
        inner = x * _horner(_T, x2) / _horner(_U, x2)
        e = np.exp(-x2)
        tail = np.where(
            ax < 8.0, _horner(_P, ax) / _horner(_Q, ax), _horner(_R, ax) / _horner(_S, ax)
        )
        # beyond 27 erfc is below the smallest double (and P/Q is inf/inf past 1e154): +-1
        outer = np.where(ax > 27.0, np.sign(x), np.sign(x) * (1.0 - e * tail))
    return np.where(ax <= 1.0, inner, outer)
