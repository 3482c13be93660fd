"""``python -m workbench`` runs the application."""

import sys

from workbench.app import main

if __name__ == "__main__":
    sys.exit(main())
