"""``python -m origin_auditor.cli``: the same ``main`` as the console script. Guarded: the packaging
test imports every module of the artifact, and importing this one must not run the command."""

import sys

from . import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
