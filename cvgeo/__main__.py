"""`python -m cvgeo` runs the `cvgeo` command."""

import sys

from cvgeo.cli import main

sys.exit(main())
