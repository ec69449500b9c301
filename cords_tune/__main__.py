"""The `cords-tune` command (also `python -m cords_tune`).

Importing the command's modules takes about a second. A Ctrl-C in that second ends the command as one during a
run does, with "interrupted" and exit code 130, not a traceback; so this module imports nothing else first.
"""

import sys


def main() -> None:
    try:
        from cords_tune.cli import main as run_command
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    run_command()


if __name__ == "__main__":
    main()
