"""outbox surface."""
