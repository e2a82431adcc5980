"""Metrics for monitoring systems: Prometheus text at /metrics and an OpenTelemetry push."""
