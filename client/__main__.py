"""Entry point for ``python -m client``."""

import sys

from .cli import main

sys.exit(main())
