"""``python -m qsession_provider.cli``: the ``qsession`` command."""

import sys

from . import main

sys.exit(main())
