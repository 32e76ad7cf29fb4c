"""Command line: ``python -m localcloud firestore --port 8681``,
``python -m localcloud serve --manifest app.json``."""

from localcloud.cli import main

if __name__ == "__main__":
    main()
