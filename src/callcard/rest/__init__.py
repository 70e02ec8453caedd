"""rest surface."""
