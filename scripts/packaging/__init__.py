"""Packaging for AWS: `make package` builds the merged, linted template and the bundle."""
