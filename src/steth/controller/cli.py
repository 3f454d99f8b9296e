"""The `steth` command: a cliff application; every command of the original steth keeps its name.

Commands are listed in ``controller/commands/__init__.py`` and imported only when run
(``lazy_commands.py``); the command list of `steth --help` is printed from their source.
The OpenStack options (--os-cloud, ...) belong to the app, not to commands: one connection per
run, built by ``app.client_manager`` when a command first needs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import autopage.argparse
from cliff.app import App
from cliff.commandmanager import CommandManager
from cliff.help import HelpCommand, HelpExit

from .. import __version__
from ..errors import EXIT_USAGE
from ..openstack import options as os_options
from .clientmanager import ClientManager
from .commands import COMMANDS
from .lazy_commands import LazyCommand, summary_of

DESCRIPTION = """Network inspection and diagnosis for OpenStack.

steth asks the steth-agent on every node to probe the network and turns the
answers into verdicts. Exit status: 0 all ok, 1 a check found a problem,
2 usage or configuration error, 3 an agent needed for the answer was unreachable.

Start with `steth lab demo` (builds a simulated cloud on this machine), or
write /etc/steth/steth.conf ([nodes], [networks]) and run `steth agent list`."""


def command_manager() -> CommandManager:
    """Every command of ``COMMANDS``, not loaded (no entry-point scan either: the table is the list)."""
    manager = CommandManager(None)
    for name, target in COMMANDS.items():
        manager.commands[name] = LazyCommand(name, target)  # type: ignore[assignment]
    return manager


def print_help(app: App, stdout: TextIO) -> None:
    """`steth --help`: the global options, then every command with its summary (as cliff prints them,
    through a pager on a terminal)."""
    pager = autopage.argparse.help_pager(stdout)
    with pager as out:
        app.parser.print_help(out)
        out.write("\nCommands:\n")
        for name, entry in sorted(app.command_manager):
            out.write(f"  {name:<13}  {summary_of(entry)}\n")


class StethHelp(HelpCommand):
    """print detailed help for another command"""

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        if parsed_args.cmd:
            return super().take_action(parsed_args)
        print_help(self.app, self.app.stdout)
        return 0


class StethApp(App):
    def __init__(self) -> None:
        super().__init__(
            description=DESCRIPTION, version=__version__, command_manager=command_manager(), deferred_help=True
        )
        self.command_manager.add_command("help", StethHelp)

    def build_option_parser(
        self, description: str | None, version: str | None, argparse_kwargs: dict[str, Any] | None = None
    ) -> argparse.ArgumentParser:
        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser.add_argument(
            "--config-file",
            metavar="PATH",
            default=None,
            help="controller config (default: $STETH_CONFIG or /etc/steth/steth.conf)",
        )
        os_options.add_options(parser)
        return parser

    def initialize_app(self, argv: list[str]) -> None:
        """One ClientManager for the run: the OpenStack connection from the options just parsed, built when
        a command first asks for it."""
        self.client_manager = ClientManager(self.options)

    def print_help_if_requested(self) -> None:
        """`steth --help` without a command: our listing, which loads no command module."""
        if self.deferred_help and self.options.deferred_help:
            print_help(self, self.stdout)
            raise HelpExit()

    def run(self, argv: Sequence[str]) -> int:
        if not argv:  # no interactive shell: a script without arguments should not hang
            self.stdout.write(
                f"usage: steth [--config-file PATH] COMMAND ...\n"
                f"commands: {', '.join(sorted(COMMANDS))}\n"
                f"`steth help` or `steth help COMMAND` for more\n"
            )
            return EXIT_USAGE
        return super().run(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return StethApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
