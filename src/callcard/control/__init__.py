"""control surface."""
