"""`python -m skillware` runs the CLI."""

from skillware.cli import main

if __name__ == "__main__":
    main()
