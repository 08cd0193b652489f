"""Entry point for ``python -m deploy`` (the container's command)."""

import sys

from .startup import main

sys.exit(main())
