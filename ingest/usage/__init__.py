"""What the stored rows mean: windows, official samples, limits, forecasts, alerts, queries and reports."""
