"""The domain: plain Python, injected clock and ids, no web framework. See docs/architecture.md."""
