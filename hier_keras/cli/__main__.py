"""`python -m hier_keras.cli ...` is `hier-keras ...`."""

from hier_keras.cli import main

main()
