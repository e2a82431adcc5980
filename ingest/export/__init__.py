"""Metrics for monitoring systems: Prometheus text at /metrics, OpenTelemetry push, an atomically written status file."""
