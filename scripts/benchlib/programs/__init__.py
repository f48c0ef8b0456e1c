"""Workloads the inits run; each is a file run as `python3 -I -S FILE` (~10 ms to start)."""
