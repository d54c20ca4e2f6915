"""The `harness` subcommands, one module per group of commands (see harness.cli.COMMANDS)."""
