import sys

from probes.quality.cli import main

sys.exit(main())
