"""A pool of query workers with a real time limit, a queue and a cap on waiting requests.

Each worker (``kg.server.worker``) is a separate process holding the graph. A request takes an idle
worker, sends it one job and waits for the answer at most ``timeout`` seconds. When the time is up the
worker is killed (SIGKILL: the engine stops, whatever it was doing) and a fresh one is started in the
background; the request is answered at once with :class:`Overloaded` (HTTP 503). Other requests are
served meanwhile by the other workers.

Requests beyond the busy workers wait in a queue; when ``max_queue`` requests are already waiting the
next is refused at once (HTTP 429), and a request that waits longer than ``queue_timeout`` for a
worker gets a 503. So a flood of slow queries costs at most ``size`` processes' time, and everyone
else gets a prompt answer either way.

Identical requests that arrive while one of them runs share that run (one worker, one time limit,
counted from its start) instead of each taking a worker: ``status()["shared"]`` counts them.

With an :class:`~kg.server.cache.AnswerCache`, a job asked again with the same arguments is answered
from memory, without a worker (the data does not change while the server runs).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kg.errors import KgError
from kg.server.cache import AnswerCache


class PoolError(KgError):
    """A request the pool could not serve; ``status`` is the HTTP status, ``retry_after`` seconds."""

    def __init__(self, message: str, status: int, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class JobError(KgError):
    """A job that failed in the worker with a one-line message (bad query, unknown name …)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class StartError(KgError):
    """A worker could not load the data (the message says why)."""


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: object


@dataclass
class _SharedRun:
    """A job running in a worker, and how many requests wait for its answer."""

    task: asyncio.Task
    waiting: int = 0


class WorkerPool:
    """``size`` worker processes serving ``source`` (see :func:`kg.server.worker.open_source`)."""

    def __init__(self, source: dict, *, size: int = 2, timeout: float = 10.0, max_queue: int = 64,
                 queue_timeout: float | None = None, start_timeout: float = 600.0,
                 cache: AnswerCache | None = None):
        self.source, self.size, self.timeout = source, size, timeout
        self.cache = cache if cache is not None else AnswerCache(0)
        self._fingerprint = None
        self.max_queue = max_queue
        self.queue_timeout = timeout if queue_timeout is None else queue_timeout
        self.start_timeout = start_timeout
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue | None = None
        self._waiting = 0
        self._workers: set = set()
        self._closing = False
        self._restarts: set = set()
        # Threads that wait for starting workers to say they are ready.
        self._threads = ThreadPoolExecutor(max_workers=size + 2, thread_name_prefix="kg-pool")
        self.killed = 0
        self._running: dict = {}  # job key -> _SharedRun: the run identical requests wait for together
        self.shared = 0  # requests answered by a run another request started

    async def start(self) -> None:
        """Start every worker and wait until all have loaded the data; StartError if one cannot."""
        self._idle = asyncio.Queue()
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.size)), return_exceptions=True)
        failures = [w for w in workers if isinstance(w, BaseException)]
        if failures:
            await self.close()
            raise failures[0] if isinstance(failures[0], KgError) else StartError(str(failures[0]))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def _spawn(self) -> _Worker:
        from kg.server.worker import main

        parent, child = self._context.Pipe()
        process = self._context.Process(target=main, args=(child, self.source), daemon=True, name="kg-worker")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.add(worker)
        loop = asyncio.get_running_loop()
        try:
            message = await asyncio.wait_for(loop.run_in_executor(self._threads, _receive, parent, self.start_timeout),
                                             self.start_timeout + 5)
        except (asyncio.TimeoutError, EOFError, OSError) as exc:
            self._kill(worker)
            raise StartError("a query worker did not start (it stopped or took too long loading the data)") from exc
        if message[0] != "ready":
            self._kill(worker)
            raise StartError(message[1])
        self._check_data()
        return worker

    def _check_data(self) -> None:
        """Empty the answer cache if the data on disk changed since the last worker started."""
        from kg.server.worker import data_fingerprint

        now = data_fingerprint(self.source)
        if self._fingerprint is not None and now != self._fingerprint:
            print("kg serve: the data files changed while serving; the answer cache was emptied "
                  "(restart the server to serve the new data from every worker)", file=sys.stderr, flush=True)
            self.cache.clear()
        self._fingerprint = now

    def _kill(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        try:
            worker.process.kill()
        except (OSError, ValueError):
            pass
        worker.process.join(5)
        try:
            worker.conn.close()
        except OSError:
            pass

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start another in the background; it joins the idle queue when ready."""
        self._kill(worker)
        self.killed += 1
        if self._closing:
            return

        async def restart():
            delay = 0.5
            while not self._closing:
                try:
                    fresh = await self._spawn()
                except StartError as exc:  # e.g. memory short for a moment: try again, slower
                    print(f"kg serve: {exc}; retrying in {delay:g} s", file=sys.stderr)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30)
                    continue
                if self._closing:
                    self._kill(fresh)
                else:
                    self._idle.put_nowait(fresh)
                return

        task = asyncio.get_running_loop().create_task(restart())
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    def status(self) -> dict:
        """How the pool is doing: workers idle and in all, requests waiting, workers killed so far."""
        return {"workers": self.size, "alive": len(self._workers),
                "idle": self._idle.qsize() if self._idle is not None else 0,
                "waiting": self._waiting, "killed": self.killed, "shared": self.shared,
                "time_limit_seconds": self.timeout,
                "cache": self.cache.status()}

    async def run(self, job: str, timeout: float | None = None, **arguments):
        """Run ``job`` in a worker (or answer it from the cache); its value, or JobError / PoolError."""
        return (await self.ask(job, timeout, **arguments))[0]

    async def ask(self, job: str, timeout: float | None = None, *, local=None, **arguments) -> tuple[object, bool]:
        """``(value, from_cache)``: as :meth:`run`, and whether the answer came from the cache.

        ``local``: a function giving the value without a worker when it can (work bounded in advance,
        such as a small stored answer), else None; asked after the cache and before any worker.
        """
        if self._closing or self._idle is None:
            raise PoolError("the server is shutting down", 503)
        key = self.cache.key(job, arguments)
        if self.cache.enabled:
            kept = self.cache.get(key)
            if kept is not None:
                return pickle.loads(kept)[1], True
        if local is not None:
            value = local()
            if value is not None:
                if self.cache.enabled:
                    self.cache.put(key, pickle.dumps(("ok", value), protocol=pickle.HIGHEST_PROTOCOL))
                return value, False
        answer = await self._shared_run(key, job, timeout, arguments)
        if answer[0] == "ok":
            return answer[1], False
        raise JobError(answer[2], answer[1])

    async def _answered(self, key: bytes, job: str, timeout: float | None, arguments: dict) -> tuple:
        """The worker's answer to one job, unpickled (once for every request sharing the run: fifty
        copies of an 80 MB answer would not fit), and kept in the cache when it is on."""
        blob = await self._in_worker(job, timeout, arguments)
        answer = pickle.loads(blob)
        if answer[0] == "ok" and self.cache.enabled:
            self.cache.put(key, blob)
        return answer

    async def _shared_run(self, key: bytes, job: str, timeout: float | None, arguments: dict) -> tuple:
        """:meth:`_answered`'s answer, from ONE run shared by every identical request that comes while it
        runs: fifty people opening the same page ask one query fifty times, and one worker answers them
        all, instead of fifty runs queueing for two workers until most are refused. Nothing is kept
        after the run (that is the answer cache's job, which can be off). The run keeps its own time
        limit, counted from its start; it is stopped (its worker replaced) when no request waits for it
        any more, as a lone request's run is when its client goes away."""
        run_key = (key, timeout)
        run = self._running.get(run_key)
        if run is None or run.task.done():  # a run that just ended (or was stopped) is not joined
            run = self._running[run_key] = _SharedRun(
                asyncio.get_running_loop().create_task(self._answered(key, job, timeout, arguments)))
            run.task.add_done_callback(lambda _task, run=run: self._running.get(run_key) is run
                                       and self._running.pop(run_key))
        else:
            self.shared += 1
        run.waiting += 1
        try:
            return await asyncio.shield(run.task)
        finally:
            run.waiting -= 1
            if not run.waiting and not run.task.done():
                run.task.cancel()

    async def _take_worker(self) -> _Worker:
        if not self._idle.empty() and not self._waiting:  # the common case: no timer, no task
            return self._idle.get_nowait()
        if self._waiting >= self.max_queue and self._idle.empty():
            raise PoolError(f"too many queries at once ({self._waiting} waiting); try again shortly", 429, 1)
        self._waiting += 1
        try:
            return await asyncio.wait_for(self._idle.get(), self.queue_timeout)
        except asyncio.TimeoutError:
            raise PoolError(f"server busy: no query worker became free within {self.queue_timeout:g} s; "
                            "try again shortly", 503, 2) from None
        finally:
            self._waiting -= 1

    async def _in_worker(self, job: str, timeout: float | None, arguments: dict) -> bytes:
        """The worker's pickled answer to one job, within the time limit (else the worker is killed)."""
        worker = await self._take_worker()
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        try:
            worker.conn.send((job, arguments))
            blob = await _answer(loop, worker.conn, limit)
        except asyncio.TimeoutError:
            self._replace(worker)
            raise PoolError(f"query stopped: it ran over the {limit:g} s time limit", 503) from None
        except (EOFError, OSError, BrokenPipeError):
            self._replace(worker)
            raise PoolError("the query engine stopped while answering (a fresh one is starting)", 500) from None
        except BaseException:  # cancelled (client went away) or anything else: the worker is dirty
            self._replace(worker)
            raise
        self._idle.put_nowait(worker)
        return blob

    async def close(self) -> None:
        """Stop every worker (the server is shutting down)."""
        self._closing = True
        for task in list(self._restarts):
            task.cancel()
        for worker in list(self._workers):
            self._kill(worker)
        self._threads.shutdown(wait=False, cancel_futures=True)


async def _answer(loop, conn, limit: float) -> bytes:
    """The worker's next message, unpickled by the caller; asyncio.TimeoutError after ``limit`` seconds.

    Waits without a thread until the pipe is readable, then reads: the worker writes its whole answer
    at once when it is done, so the read does not wait on work.
    """
    readable = loop.create_future()

    def ready():
        if not readable.done():
            readable.set_result(None)

    def late():
        if not readable.done():
            readable.set_exception(asyncio.TimeoutError())

    fd = conn.fileno()
    loop.add_reader(fd, ready)
    timer = loop.call_later(limit, late)
    try:
        await readable
    finally:
        timer.cancel()
        loop.remove_reader(fd)
    os.set_blocking(fd, True)  # uvloop's add_reader makes it non-blocking; a long answer is read in parts
    return conn.recv_bytes()


def _receive(conn, timeout):
    """One message from a worker's pipe (blocking; run in a thread). ``timeout``: seconds, or None."""
    if timeout is not None and not conn.poll(timeout):
        raise EOFError("no answer")
    return conn.recv()
