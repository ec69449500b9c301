"""The `cords-tune` command (also `python -m cords_tune`).

Importing the command's modules takes about a second, and typer then builds the commands from their signatures. A
Ctrl-C in that time ends the command as one during a run does, with "interrupted" and exit code 130, not a
traceback; so this module imports nothing else first. A command turns its own Ctrl-C into its own message.
"""

import sys


def main() -> None:
    try:
        from cords_tune.cli import main as run_command

        run_command()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
