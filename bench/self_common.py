"""What the bench/self-*.py programs share: writing a file whole (a table,
a patched source), and running main() so a failure is one clear line and
exit status 1."""
import os
import sys


def write_table(path, text):
    """Writes `text` to `path` atomically: a reader never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def run(main, say):
    """sys.exit(main()), with a RuntimeError said (`say`) and exit 1."""
    try:
        sys.exit(main())
    except RuntimeError as e:
        say(str(e))
        sys.exit(1)
