"""Sliding-window inference, aggregation into activity curves, and regions (no Qt)."""
