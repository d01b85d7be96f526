"""`python -m hub.cli`: the `contacthub` command without its console script."""

import sys

from hub.cli.main import main

sys.exit(main())
