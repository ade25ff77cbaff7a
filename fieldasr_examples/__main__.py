"""`python -m fieldasr_examples COMMAND`: the same as the `fieldasr-examples` command."""
from fieldasr_examples.cli import main

if __name__ == "__main__":
    main()
