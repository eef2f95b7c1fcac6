"""Evaluation and benchmarks: retrieval quality on real questions, ingest and search speed."""
