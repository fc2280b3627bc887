import sys

from ladle.entry import main

sys.exit(main())
