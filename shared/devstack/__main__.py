"""``python -m shared.devstack serve``: what ``make serve`` runs."""

from shared.devstack.stack import main

if __name__ == "__main__":
    main()
