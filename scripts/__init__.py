"""Developer tooling: local/ runs the stack on one machine, packaging/ builds what AWS deploys."""
