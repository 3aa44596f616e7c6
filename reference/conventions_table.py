"""The conventions table: where PyTorch's and JAX/optax/flax's OWN DEFAULTS differ, measured.

Each ``Probe`` runs both frameworks with their defaults on probe inputs (an activation and its
gradient at a kink, a default read from a signature and its effect, 50 optimizer steps on a fixed
gradient sequence, the statistics of a large draw of a default initializer) and, when it names a
setting, runs that setting too. A ``Row`` holds what was measured: both values, the size of the
difference, and the setting with the difference that remains under it. The table says "agree
with: SETTING" only when that remaining difference vanishes: below 16 float64 ulps of the
values' magnitude, or for sampled statistics (initializers, whose random streams cannot be
matched) below the probe's relative sampling tolerance. Nothing in a row is typed in: the only
hand-written part is the list of probes (what to run, and which setting to try).

Everything runs in float64 (JAX inside ``precision('float64')``, the caller's x64 switch is left
as found), on CPU; needs the extra ``nnparity[jax]``.
"""

from .conventions_measure import EPS64, ULPS, Probe, Row, measure
from .conventions_probes import PROBES
from .conventions_runs import jax_value, torch_value

__all__ = [
    "EPS64",
    "PROBES",
    "ULPS",
    "Probe",
    "Row",
    "conventions_table",
    "jax_value",
    "measure",
    "torch_value",
]


def conventions_table(probes: list[Probe] | None = None) -> list[Row]:
    """Every probe measured (``PROBES`` by default), in order."""
    from nnparity.reference.jax import precision

    with precision("float64"):
        return [measure(p) for p in (PROBES if probes is None else probes)]
