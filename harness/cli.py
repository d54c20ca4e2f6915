"""The `harness` command line.

Exit codes: 0 every result matched its expectation, 1 some did not, 2 bad input (reported as
file:line with the valid choices; the valid scenarios still run and their results are kept).

Subcommands live in their own modules and are registered below with one line each; they are
imported only when invoked, so `harness --help` and `harness list` stay instant.
"""

from __future__ import annotations

import importlib
import sys

import click

from harness import __version__, console
from harness.errors import EXIT_BAD_INPUT, InputError

# name -> (module:attribute of the click command, one-line help shown by `harness --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("harness.commands.run:run_command", "Run scenarios on the installed stack."),
    "sweep": ("harness.commands.sweep:sweep_command", "Run a base scenario over every architecture transformers has."),
    "list": ("harness.commands.catalog:list_command", "List scenario variants and what they expect here."),
    "show": ("harness.commands.catalog:show_command", "Show a variant and its latest recorded result."),
    "schema": ("harness.commands.catalog:schema_command", "Print the JSON Schema of scenarios or records."),
    "matrix": ("harness.matrix.cli:matrix_command", "Resolve matrix.yaml and show its cells (or CI's job matrix)."),
    "bisect": ("harness.matrix.cli:bisect_command", "Find the release where a scenario's behaviour changes."),
    "report": (
        "harness.report.cli:report_command",
        "Merge results into the history; write the HTML report, JUnit, summary.",
    ),
    "history": ("harness.report.cli:history_command", "List the report history's runs and their changes."),
    "repro": ("harness.report.cli:repro_command", "Export a standalone script reproducing one recorded result."),
    "explore": ("harness.explore.cli:explore_command", "Search for new failures; write each as a scenario."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on use; InputError becomes one clear line and exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, _, attribute = COMMANDS[name][0].partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as error:
            console.report_input_errors([error])
            sys.exit(EXIT_BAD_INPUT)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ft-harness")
def main() -> None:
    """Turn fine-tuning stack failures (PEFT x quantization x checkpointing) into reproducible facts."""
