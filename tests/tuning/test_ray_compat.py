"""The private Ray names cords-tune uses all sit in ``cords_tune.tuning.ray_compat``: pinned to the Ray version it
was written against, so that a Ray upgrade fails here, in one place, before it fails a run."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import ray

from cords_tune.tuning import ray_compat


def test_the_installed_ray_is_the_one_ray_compat_was_written_against():
    assert ray.__version__ == ray_compat.TESTED_RAY, (
        f"Ray {ray.__version__} is installed, but cords_tune/tuning/ray_compat.py was written against Ray "
        f"{ray_compat.TESTED_RAY}: check each of its functions against this Ray (the private names in "
        "PRIVATE_NAMES, what each patches), then set TESTED_RAY")


def test_every_private_name_ray_compat_uses_still_exists():
    missing = ray_compat.missing_private_names()
    assert not missing, f"cords_tune/tuning/ray_compat.py uses private Ray names this Ray lacks: {missing}"


def test_a_missing_name_is_reported():
    names = ray_compat.PRIVATE_NAMES
    try:
        ray_compat.PRIVATE_NAMES = (*names, ("ray.tune.schedulers", "NoSuchScheduler"), ("no_such_ray", "x"))
        assert ray_compat.missing_private_names() == ["ray.tune.schedulers.NoSuchScheduler", "no_such_ray.x"]
    finally:
        ray_compat.PRIVATE_NAMES = names


def test_an_instance_attribute_that_is_gone_is_reported():
    names = ray_compat.PRIVATE_NAMES
    try:
        ray_compat.PRIVATE_NAMES = (("ray.tune.schedulers.async_hyperband", "_Bracket._rungs"),
                                    ("ray.tune.schedulers.async_hyperband", "_Bracket._no_such_rungs"))
        assert ray_compat.missing_private_names() == ["ray.tune.schedulers.async_hyperband._Bracket._no_such_rungs"]
    finally:
        ray_compat.PRIVATE_NAMES = names


def test_every_private_name_ray_compat_reads_is_pinned_in_private_names():
    tree = ast.parse(Path(ray_compat.__file__).read_text(encoding="utf-8"))
    pinned = {part for _, attribute in ray_compat.PRIVATE_NAMES for part in attribute.split(".")}
    read = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    read |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    private = {name for name in read if name.startswith("_") and not name.startswith("__")}
    unpinned = private - pinned
    assert not unpinned, f"private Ray names ray_compat.py reads with no PRIVATE_NAMES entry: {unpinned}"


def test_no_other_module_of_the_package_names_a_private_ray_name():
    package = Path(ray_compat.__file__).parents[1]
    private = ("ray._private", "class_cache", "_ActorClassCache", "_Bracket", "._brackets", "._rungs")
    found = [f"{path.relative_to(package)}: {name}" for path in package.rglob("*.py")
             if path != Path(ray_compat.__file__) for name in private if name in path.read_text(encoding="utf-8")]
    assert not found, f"private Ray names belong in cords_tune/tuning/ray_compat.py: {found}"


def test_the_resources_ray_would_find_here_count_this_machine_s_cpus():
    cpus = ray_compat.resources_ray_would_find()["CPU"]
    assert 1 <= cpus <= os.cpu_count()
