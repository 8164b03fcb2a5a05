"""``python -m flowbuilder``: the same as the ``flowbuilder`` command."""

import sys

from flowbuilder.cli import main

if __name__ == "__main__":
    sys.exit(main())
