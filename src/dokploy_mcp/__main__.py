from dokploy_mcp.cli import main

raise SystemExit(main())
