"""`python -m hier_keras.cli ...` is `hier-keras ...`."""

from hier_keras.cli import main

if __name__ == "__main__":
    main()
