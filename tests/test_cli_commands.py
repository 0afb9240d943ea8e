"""Every ``b2b-soap`` command reaches its handler under one naming rule."""
from __future__ import annotations

import argparse

from b2b_soap.cli import build_parser


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield words, parser.get_default("handler")
        return
    for name, sub in subcommands[0].choices.items():
        yield from _commands(sub, words + (name,))


def test_each_handler_is_named_handle_and_the_commands_words():
    commands = list(_commands(build_parser()))
    assert len(commands) > 80
    misnamed = [(" ".join(words), handler.__name__) for words, handler in commands
                if handler.__name__ != "handle_" + "_".join(words).replace("-", "_")]
    assert misnamed == []
