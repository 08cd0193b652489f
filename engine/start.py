"""The container entry's old name, for RunPod templates whose start command still says
``python -m engine.start``: runs ``python -m deploy`` (the one exception, with the CLI, to
engine/ importing nothing from the layers above it)."""

import sys

from deploy.startup import main

if __name__ == "__main__":
    sys.exit(main())
