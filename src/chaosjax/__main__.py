"""`python -m chaosjax`: the same as the `chaosjax` command."""

from .cli import main

if __name__ == "__main__":
    main()
