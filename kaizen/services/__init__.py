"""Writes of the kaizen app, one module per part of the domain."""
