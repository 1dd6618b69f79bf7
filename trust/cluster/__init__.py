"""Bulk jobs past one machine, on Dask distributed: which scheduler to reach (and which not to),
and an ordered, bounded map of tasks over it. The jobs themselves (redacting folders,
tokenizing files) stay where they are; this is only where their work runs. Dask is imported
when a job asks for a cluster, never on import."""

from __future__ import annotations

from ._client import ClusterUnavailable, check_cluster_address, connect, in_flight, ordered_map

__all__ = [
    "ClusterUnavailable",
    "check_cluster_address",
    "connect",
    "in_flight",
    "ordered_map",
]
