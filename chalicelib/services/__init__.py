"""Business logic. No Chalice, no HTTP: edges call these and map errors."""
