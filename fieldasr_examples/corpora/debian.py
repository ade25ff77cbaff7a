"""Where Debian packages put the real speech the examples import: the one place that knows these paths.

The readers (`import_fillets`, `import_pocketsphinx`) take the folder as an argument; the command line
and the tests pass these when the user gives none.
"""
from __future__ import annotations

from pathlib import Path

FILLETS_ROOT = Path("/usr/share/games/fillets-ng")  # fillets-ng-data + fillets-ng-data-nl
POCKETSPHINX_TEST_DATA = Path("/usr/share/pocketsphinx/test/data")  # pocketsphinx-testdata
