"""Offline tools for workflow authors: lint, golden files and the starter spec entry."""
