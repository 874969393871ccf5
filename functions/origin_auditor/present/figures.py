"""CloudWatch figures as reports show them (text, markdown and HTML alike)."""

from __future__ import annotations


def metric_text(name: str, value: float | None) -> str:
    """``Requests 1,820,000``, ``OriginLatency 80 ms``, ``502ErrorRate 0.20%``, ``X n/a``."""
    if value is None:
        return f"{name} n/a"
    if name == "Requests":
        return f"{name} {value:,.0f}"
    if name == "OriginLatency":
        return f"{name} {value:.0f} ms"
    return f"{name} {value:.2f}%"
