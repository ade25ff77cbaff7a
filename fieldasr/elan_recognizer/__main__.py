"""`python -m fieldasr.elan_recognizer BUNDLE`: what a recognizer folder's run.sh / run.bat start."""
import sys

from fieldasr.elan_recognizer.run import main

sys.exit(main())
