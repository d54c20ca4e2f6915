"""Reproducing one recorded variant: the copyable command, and a standalone script without harness."""
