"""`python -m cli`: the `ragqa` command without its console script."""
from cli.main import main

raise SystemExit(main())
