"""``python -m speechforge`` is the ``speechforge`` command."""

from speechforge.cli import main

main()
