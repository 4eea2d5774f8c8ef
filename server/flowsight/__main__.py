from flowsight.cli import main

raise SystemExit(main())
