"""Code that runs inside the container (standard library only)."""
