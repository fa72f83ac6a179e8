"""Local tooling: the whole stack (`make run`), DynamoDB Local, the SQS poller, dev tokens, jobs on demand."""
