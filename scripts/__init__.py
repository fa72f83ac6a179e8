"""Developer tooling: the local stack and the DynamoDB Local launcher."""
