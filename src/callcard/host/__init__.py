"""host surface."""
