"""Pure-math subset selection kernels: torch in, torch out, on the input's device and dtype.

Each kernel solves one block (the strategies in ``cords_tune.selection`` partition per class or per batch
and schedule the calls) and is tested against brute force or ``scipy.optimize.nnls`` on tiny problems.
"""

from __future__ import annotations

from cords_tune.selection.functional.facility_location import (
    facility_location,
    facility_location_blocks,
    facility_location_greedy,
    facility_location_similarity,
)
from cords_tune.selection.functional.geometry import herding, kcenter_greedy
from cords_tune.selection.functional.glister import glister_greedy
from cords_tune.selection.functional.graph_cut import graph_cut
from cords_tune.selection.functional.omp import gradmatch_omp
from cords_tune.selection.functional.similarity import gradient_cosine_similarity

__all__ = [
    "facility_location",
    "facility_location_blocks",
    "facility_location_greedy",
    "facility_location_similarity",
    "glister_greedy",
    "gradient_cosine_similarity",
    "gradmatch_omp",
    "graph_cut",
    "herding",
    "kcenter_greedy",
]
