"""``python -m nnparity ...``: the same as the ``nnparity`` console script."""

from nnparity.reports.cli import main

raise SystemExit(main())
