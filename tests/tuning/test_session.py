"""What a run says about the Ray it uses."""

from __future__ import annotations

from cords_tune.tuning.resources import describe_nodes
from cords_tune.tuning.session import RaySession


def _node(cpus: float, gpus: float = 0.0) -> dict:
    return {"Resources": {"CPU": cpus, **({"GPU": gpus} if gpus else {})}}


def test_a_session_names_a_private_ray_or_the_cluster_it_joined():
    private = RaySession(private=True, address=None, nodes=describe_nodes([_node(2)]))
    assert str(private) == "Ray: a private local instance (2 CPUs, 0 GPUs)"
    joined = RaySession(private=False, address="10.0.0.1:6379", nodes=describe_nodes([_node(4), _node(16, 1)]))
    assert str(joined) == "Ray: joined 10.0.0.1:6379 (2 nodes; the largest: 16 CPUs, 1 GPU)"
    assert describe_nodes([]) == "no live node"


def test_the_integrations_tune_imports_at_a_search_start_are_imported_beside_ray_start_where_installed():
    import sys

    from cords_tune.tuning.session import import_beside

    sys.modules.pop("json.tool", None)
    thread = import_beside({"json": "json.tool", "no_such_package_here": "no_such_package_here.module"})
    thread.join(timeout=30)
    assert "json.tool" in sys.modules and "no_such_package_here.module" not in sys.modules
    assert import_beside({"no_such_package_here": "no_such_package_here.module"}) is None  # nothing to do
