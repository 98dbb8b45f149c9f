from gastown.cli import main

raise SystemExit(main())
