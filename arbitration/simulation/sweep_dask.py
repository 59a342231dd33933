"""Running sweep cases on Dask (`dask.distributed`): each case is one task, on a local
cluster of worker processes or on any running cluster.

Only the sweep command imports this module (Dask costs start-up time no other command should
pay). The scheduler, not this code, deals with lost workers: a task whose worker dies is
handed to another (up to `distributed.scheduler.allowed-failures` times), and the client
here takes each case's result exactly once, in the order they finish.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dask.distributed import Client, LocalCluster, as_completed

from arbitration.simulation.sweep_run import run_case
from arbitration.simulation.sweep_spec import SweepCase
from flexemu.errors import FlexEmuError

#: How long to wait for a remote scheduler to answer before giving up.
CONNECT_SECONDS = 30


class ClusterError(FlexEmuError, ValueError):
    """The Dask scheduler named on the command line cannot be reached."""


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Client]:
    """A client of the cluster at `scheduler`, or of a local cluster of `workers` processes
    (default: one per core), each with one thread: a worker's traces are single-threaded
    (`sweep_run.traced`) and the games are CPU-bound Python, so processes are what scales."""
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, ValueError) as error:
            raise ClusterError(
                f"--scheduler: cannot reach a Dask scheduler at {scheduler} "
                f"within {CONNECT_SECONDS} s ({type(error).__name__})"
            ) from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            # Any free port: the scheduler serves HTTP even without a dashboard, and a fixed
            # 8787 taken by another cluster makes Dask print a warning into the sweep's output.
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_cases(
    client: Client,
    cases: list[SweepCase],
    on_row: Callable[[dict[str, Any]], None],
    on_failure: Callable[[SweepCase, BaseException], None],
    host: str = "pyevm",
) -> None:
    """Submit every case as its own task, played on the in-process `host` (py-evm or revm),
    and hand each result over as soon as it is in."""
    by_key: dict[str, SweepCase] = {}
    futures = []
    for case in cases:
        key = f"flexemu-sweep-{case.sweep}-{case.id}"
        by_key[key] = case
        futures.append(client.submit(run_case, case, host, key=key, retries=0))
    for future in as_completed(futures):
        case = by_key[future.key]
        try:
            row = future.result()
        except Exception as error:  # the case's own error, or a worker lost too often
            on_failure(case, error)
        else:
            on_row(row)
        future.release()
