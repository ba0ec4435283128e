"""What each scoring actor asks of the cluster, and a message naming it beside what the nodes have,
for a run that cannot place its actors (rather than a driver waiting for ever)."""

from __future__ import annotations

from typing import Any

from zsad_desktop.app.cluster.ray_engine import ClusterUnavailable


def actor_resources(ray: Any, use_gpu: bool, cpus: int | None = None) -> dict[str, float]:
    """One GPU with the CPUs its node has per GPU (its readers and heatmap writers use them), counted
    on the GPU nodes themselves: a CPU-only head must not inflate it; or one CPU."""
    if not use_gpu:
        return {"num_cpus": cpus or 1}
    per_gpu = [
        int(node["Resources"].get("CPU", 0) // node["Resources"]["GPU"])
        for node in _alive(ray)
        if node["Resources"].get("GPU", 0) >= 1
    ]
    return {"num_gpus": 1, "num_cpus": cpus or max(1, min(per_gpu, default=1))}


def check_placeable(ray: Any, asked: dict[str, float]) -> None:
    """Refuses at once when no node could ever hold one actor."""
    need = _as_ray_names(asked)
    if not any(all(node["Resources"].get(k, 0) >= v for k, v in need.items()) for node in _alive(ray)):
        raise ClusterUnavailable(
            f"no node of the cluster can hold a scoring worker: {placement_facts(ray, asked)}"
        )


def placement_facts(ray: Any, asked: dict[str, float]) -> str:
    nodes = "; ".join(
        f"{node.get('NodeManagerAddress', '?')} has {_resources_text(node['Resources'])}"
        for node in _alive(ray)
    )
    try:
        free = _resources_text(ray.available_resources())
    except Exception:  # noqa: BLE001 - the facts are for a message; a cluster going away still gets one
        free = "unknown"
    return f"each asks for {_resources_text(_as_ray_names(asked))}; {nodes or 'no node is alive'}; free now: {free}"


def _alive(ray: Any) -> list[dict]:
    return [node for node in ray.nodes() if node.get("Alive")]


def _as_ray_names(asked: dict[str, float]) -> dict[str, float]:
    return {{"num_gpus": "GPU", "num_cpus": "CPU"}.get(k, k): v for k, v in asked.items()}


def _resources_text(resources: dict[str, float]) -> str:
    shown = {k: v for k, v in resources.items() if k in ("CPU", "GPU")}
    return ", ".join(f"{v:g} {k}" for k, v in sorted(shown.items())) or "nothing"
