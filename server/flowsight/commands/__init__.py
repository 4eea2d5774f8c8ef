"""One module per CLI subcommand; see flowsight.cli."""
