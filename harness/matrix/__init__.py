"""The version matrix: matrix.yaml -> resolved cells -> one environment and one results file each."""
