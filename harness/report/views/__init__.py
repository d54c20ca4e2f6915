"""Views computed from a run's grid: each module turns entries into one table or picture."""
