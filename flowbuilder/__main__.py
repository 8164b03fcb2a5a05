"""``python -m flowbuilder``: the same as the ``flowbuilder`` command."""

import sys

from flowbuilder.cli import main

sys.exit(main())
