"""``python -m etl`` runs the command line."""

import sys

from etl.cli import main

sys.exit(main())
