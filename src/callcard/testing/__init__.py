"""testing surface."""
