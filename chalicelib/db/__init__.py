"""DynamoDB plumbing: table settings, labelled transactions, the one contention retry policy, paging, row histories."""

__all__ = ["history", "paging", "retry", "rows", "tables", "transactions"]
