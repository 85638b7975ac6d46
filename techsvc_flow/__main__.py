"""``python -m techsvc_flow``: see :mod:`techsvc_flow.cli`."""

from .cli import main

raise SystemExit(main())
