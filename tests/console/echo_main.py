"""A stand-in subcommand entry point: returns how many arguments it was given."""


def main(argv: list[str]) -> int:
    return len(argv)
