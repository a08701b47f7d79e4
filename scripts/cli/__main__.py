"""``python -m scripts.cli ...`` (and ``torchrun -m scripts.cli diff ...``)."""

import sys

from scripts.cli.app import main

sys.exit(main())
