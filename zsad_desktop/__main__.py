from zsad_desktop.cli import main

raise SystemExit(main())
