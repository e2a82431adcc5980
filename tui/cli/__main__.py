"""`python -m tokentop.tui.cli`: the form install-hooks writes when no `tokentop` is on PATH."""

import sys

from .entry import main

sys.exit(main())
