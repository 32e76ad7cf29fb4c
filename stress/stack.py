"""The local stack under stress: ``make serve``'s ``DevStack`` on free loopback ports with its
data in a directory of its own, plus what the fault phases do to it: SIGKILL and restart of
the functions process, and a restart of everything on the same ports and data.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from localcloud.firestore import locking
from localcloud.serve import Ports
from shared.devstack.stack import DevStack

PROJECT = "stress-growthkit"
DEAD_TRANSACTION_SECONDS = 15.0
HOST = "127.0.0.1"  # loopback only: the load never leaves the machine


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (bound together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Child processes started inside inherit ``log`` as stdout and stderr (the functions
    process logs every request: the console shows only the figures)."""
    saved = [os.dup(1), os.dup(2)]
    with log.open("ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


class StressStack(DevStack):
    """A Stack whose functions process can be killed and whose whole self can restart."""

    @classmethod
    def create(cls, data_dir: Path) -> StressStack:
        # functions, firestore, tasks, scheduler, auth, smtp, mailbox, platforms
        return cls(Ports(HOST, *free_ports(8)), data_dir, PROJECT)

    def start(self) -> StressStack:
        # A SIGKILLed instance's open transactions keep their locks until they expire idle.
        # At the local default of 60 s, lock waits behind them reach the clients' 60 s gRPC
        # deadline, and localcloud's lock table then leaks the locks of the transactions
        # those clients roll back while the server still waits for them (a bug reported
        # to the Firestore owners: acquire() does not check the transaction is still
        # live). Expiring them sooner keeps every wait well under the deadlines.
        locking.IDLE_EXPIRY_SECONDS = DEAD_TRANSACTION_SECONDS
        super().start()
        return self

    @property
    def base_url(self) -> str:
        return self.ports.base_url

    @property
    def log(self) -> Path:
        return self.data_dir / "functions.log"

    def _start_functions(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with output_to(self.log):
            super()._start_functions()

    def kill_functions(self) -> None:
        """SIGKILL: requests in flight die with the process, nothing is flushed."""
        if self.host_process is not None:
            self.host_process.kill()
            self.host_process.wait()

    def restart_functions(self) -> None:
        self._start_functions()

    def restarted(self) -> StressStack:
        """Stop every part (the data stays) and start again on the same ports and data."""
        self.stop()
        return StressStack(self.ports, self.data_dir, self.project).start()
