"""Benchmarks: DynamoDB requests per operation and how cost grows with data."""
