"""Benchmarks behind `trigkit bench` and bench/*.py: each compares contenders side by side in one
process run, checks they computed the same thing, and returns/writes a JSON-able record."""
