"""``python -m cords_tune.cli``: the same command as ``cords-tune``."""

import sys

from cords_tune.cli import main

if __name__ == "__main__":
    sys.exit(main())
