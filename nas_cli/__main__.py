"""``python -m nas_cli ...`` (and ``torchrun -m nas_cli diff ...``)."""

import sys

from nas_cli.app import main

sys.exit(main())
