"""Delivery at the edges: a slow receiver never holds a request, a webhook attempt has a
hard total deadline, unusable receiver and outbox settings are refused, signed requests
carry a timestamp a receiver can check against replays, and ``dispatch()`` says when it
stopped at its limit.

Every server here is on loopback and every wait is bounded.
"""

from __future__ import annotations

import datetime as dt
import http.server
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from techsvc_flow import (
    Actor,
    Event,
    ProcessDefinition,
    State,
    SteppedClock,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.engine.outbox import INLINE_BUDGET, Dispatched
from techsvc_flow.errors import ConfigurationError, InvalidValue, SignatureError
from techsvc_flow.notifications import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Webhook,
    is_remote,
    signature,
    verify_signature,
)
from techsvc_flow.store import Store

T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CAL = WorkCalendar.china(coverage="provisional")
SECRET = "TOP-SECRET-7f3a9c"
ANN = Actor("ann", {"agent"})


def ticket() -> ProcessDefinition:
    return ProcessDefinition(
        name="ticket",
        version=1,
        states=[State("open", initial=True), State("done", final=True)],
        transitions=[Transition("close", source="open", dest="done", roles="agent")],
    )


def workflow(store: Store | None = None, **kwargs: Any) -> Workflow:
    kwargs.setdefault("clock", SteppedClock(T0))
    return Workflow(store, calendar=CAL, processes=[ticket()], **kwargs)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for proxy in ("http_proxy", "https_proxy", "all_proxy"):  # talk to loopback directly
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.upper(), raising=False)


# --- loopback servers -----------------------------------------------------------------


@pytest.fixture
def hanging() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as sock:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


class Trickler:
    """Answers each connection one byte every ``every`` seconds, never finishing:
    before the status line (``phase="status"``) or in a body announced as 1 MB."""

    def __init__(self, phase: str, every: float = 0.25) -> None:
        self.phase = phase
        self.every = every
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            t = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(65536)
                if self.phase == "body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                while not self.stop.wait(self.every):
                    conn.sendall(b"H" if self.phase == "status" else b"x")
            except OSError:
                pass  # the client gave up: that is the point

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()


@pytest.fixture(params=["status", "body"])
def trickler(request: pytest.FixtureRequest) -> Iterator[Trickler]:
    srv = Trickler(request.param)
    try:
        yield srv
    finally:
        srv.close()


class Recorder(http.server.ThreadingHTTPServer):
    """Records each request's headers and body; answers ``status``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


# --- 1. a request never waits on a remote receiver -----------------------------------------


def test_a_hanging_webhook_does_not_hold_start_or_fire(hanging: str, store: Store) -> None:
    wf = workflow(store)
    wf.on("*", Webhook(hanging, secret=SECRET, timeout=0.5), name="hook")
    began = time.monotonic()
    wf.start("ticket", case_id="C-1")
    wf.fire("C-1", "close", actor=ANN)
    assert time.monotonic() - began < 0.4  # was 2 × 0.5 s per event before
    # the events wait for the worker: each dispatch attempt ends at the deadline
    began = time.monotonic()
    assert wf.dispatch(limit=1) == 0
    assert 0.45 < time.monotonic() - began < 1.5
    (first,) = store.pending(T0 + dt.timedelta(days=1), 1)
    assert first.attempts == 1 and first.last_error is not None
    assert "TimeoutError" in first.last_error


class Robot:
    """A remote receiver the way a channel declares itself."""

    remote = True

    def __init__(self) -> None:
        self.got: list[str] = []

    def __call__(self, event: Event) -> None:
        self.got.append(event.type)


def test_a_declared_remote_receiver_is_only_called_by_dispatch(store: Store) -> None:
    wf = workflow(store)
    robot, local = Robot(), Robot()
    local.remote = False
    assert is_remote(robot) and not is_remote(local) and not is_remote(print)
    wf.on("*", robot, name="robot")
    wf.on("case.*", local, name="local")
    wf.start("ticket", case_id="C-1")
    assert robot.got == [] and local.got == ["case.started"]
    assert wf.dispatch() == 2
    assert robot.got == ["case.started", "state.entered"]
    assert local.got == ["case.started"]  # took it in the request: not called again
    assert wf.dispatch() == 0


def test_a_truthy_remote_that_is_not_true_is_local() -> None:
    class Odd:
        remote = "yes"

        def __call__(self, event: Event) -> None:
            pass

    assert not is_remote(Odd())


def test_local_receivers_in_the_request_stop_after_the_budget(store: Store) -> None:
    wf = workflow(store)
    calls: list[str] = []

    def slow(event: Event) -> None:
        calls.append(event.type)
        time.sleep(INLINE_BUDGET.total_seconds() * 1.5)

    wf.on("*", slow, name="slow")
    wf.start("ticket", case_id="C-1")
    assert calls == ["case.started"]  # the budget was spent: state.entered is left
    assert wf.dispatch() == 1
    assert calls == ["case.started", "state.entered"]  # each once
    assert wf.dispatch() == 0


def test_manual_mode_calls_no_receiver_in_the_request(store: Store) -> None:
    wf = workflow(store, dispatch="manual")
    calls: list[Event] = []
    wf.on("*", calls.append, name="local")
    wf.start("ticket", case_id="C-1")
    assert calls == []
    assert wf.dispatch() == 2
    assert len(calls) == 2


def test_a_bound_store_leaves_every_receiver_to_dispatch_after_the_host_commit() -> None:
    from techsvc_flow.sql import SqlStore

    engine = sa.create_engine("sqlite://")
    store = SqlStore(engine)
    try:
        wf = workflow(store)
        calls: list[Event] = []
        wf.on("*", calls.append, name="local")
        with engine.begin() as connection:
            wf.with_store(store.bind(connection)).start("ticket", case_id="C-1")
            assert calls == []  # not durable yet: nothing may be told
        assert calls == []
        assert wf.dispatch() == 2
        assert [e.type for e in calls] == ["case.started", "state.entered"]
    finally:
        store.close()


# --- 2. a hard total deadline per attempt ----------------------------------------------


def test_a_trickling_receiver_cannot_stretch_the_timeout(trickler: Trickler) -> None:
    event = Event("e-1", "case.started", "C-1", "ticket", T0, {})
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        Webhook(trickler.url, secret=SECRET, timeout=1)(event)
    took = time.monotonic() - began
    assert 0.9 < took < 1.5  # was 14.5 s with one byte every 0.25 s


def test_a_timed_out_attempt_counts_as_a_failed_round(trickler: Trickler) -> None:
    wf = workflow(max_attempts=2)
    wf.on("case.started", Webhook(trickler.url, secret=SECRET, timeout=0.6), name="hook")
    wf.start("ticket", case_id="C-1")
    began = time.monotonic()
    assert wf.dispatch() == 0
    assert time.monotonic() - began < 1.2
    (pending,) = wf.store.pending(T0 + dt.timedelta(hours=1), 10)
    assert pending.attempts == 1 and pending.status == "pending"
    assert pending.last_error == "hook: TimeoutError: webhook delivery exceeded its total timeout"


def test_a_quick_receiver_is_not_cut_short(recorder: Recorder) -> None:
    event = Event("e-1", "case.started", "C-1", "ticket", T0, {})
    Webhook(recorder.url, secret=SECRET, timeout=1)(event)
    assert len(recorder.requests) == 1


# --- 3. settings refused ------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", b""])
def test_an_empty_secret_is_refused(secret: str | bytes) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Webhook("https://crm.example.com/hook", secret=secret)
    assert caught.value.setting == "Webhook.secret"
    assert "None" in str(caught.value)  # says how to send unsigned on purpose


def test_no_secret_sends_unsigned_on_purpose(recorder: Recorder) -> None:
    hook = Webhook(recorder.url, secret=None)
    assert not hook.signed
    hook(Event("e-1", "case.started", "C-1", "ticket", T0, {}))
    ((headers, _),) = recorder.requests
    assert SIGNATURE_HEADER not in headers and TIMESTAMP_HEADER not in headers


@pytest.mark.parametrize("timeout", [None, 0, -1, math.nan, math.inf, True, "5"])
def test_an_unusable_timeout_is_refused(timeout: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Webhook("https://crm.example.com/hook", timeout=timeout)
    assert caught.value.setting == "Webhook.timeout"


@pytest.mark.parametrize(
    "url", ["ftp://crm.example.com/hook?key=K-93f1", "http:///hook?key=K-93f1", "K-93f1"]
)
def test_an_url_that_is_not_http_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Webhook(url)
    assert caught.value.setting == "Webhook.url"
    assert "K-93f1" not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"max_attempts": 0}, "Workflow.max_attempts"),
        ({"max_attempts": -3}, "Workflow.max_attempts"),
        ({"max_attempts": True}, "Workflow.max_attempts"),
        ({"max_attempts": 2.5}, "Workflow.max_attempts"),
        ({"retry_base": dt.timedelta(seconds=-1)}, "Workflow.retry_base"),
        ({"retry_base": dt.timedelta(0)}, "Workflow.retry_base"),
        ({"retry_base": 30}, "Workflow.retry_base"),
        ({"retry_cap": dt.timedelta(seconds=10)}, "Workflow.retry_cap"),
        ({"dispatch": "sometimes"}, "Workflow.dispatch"),
    ],
)
def test_unusable_outbox_settings_are_refused(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        workflow(**kwargs)
    assert caught.value.setting == setting


def test_the_smallest_usable_outbox_settings_are_accepted() -> None:
    wf = workflow(
        max_attempts=1, retry_base=dt.timedelta(seconds=1), retry_cap=dt.timedelta(seconds=1)
    )
    wf.on("case.started", lambda e: 1 / 0, name="broken")
    wf.start("ticket", case_id="C-1")
    (dead,) = wf.dead_letters()  # one round, then dead
    assert dead.attempts == 1


def test_on_refuses_what_cannot_receive() -> None:
    wf = workflow()
    with pytest.raises(ConfigurationError, match="callable"):
        wf.on("*", "https://crm.example.com/hook", name="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="pattern"):
        wf.on("", print, name="x")
    with pytest.raises(ConfigurationError, match="name"):
        wf.on("*", print, name="")
    wf.on("*", print, name="x")
    with pytest.raises(ConfigurationError, match="exists already"):
        wf.on("*", print, name="x")


@pytest.mark.parametrize("limit", [0, -1, True])
def test_dispatch_refuses_a_limit_below_one(limit: Any) -> None:
    wf = workflow()
    wf.on("*", print, name="x")
    with pytest.raises(InvalidValue, match="limit"):
        wf.dispatch(limit=limit)


def test_the_secret_never_shows(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    recorder.status = 500
    wf = workflow(max_attempts=1)
    hook = Webhook(recorder.url, secret=SECRET, timeout=2)
    sub = wf.on("case.started", hook)
    with caplog.at_level(logging.DEBUG):
        wf.start("ticket", case_id="C-1")
        wf.dispatch()
    (dead,) = wf.dead_letters()
    shown = [repr(hook), sub.name, str(dead), *(r.getMessage() for r in caplog.records)]
    assert caplog.records and dead.last_error
    assert all(SECRET not in text for text in shown)
    ((headers, body),) = recorder.requests
    assert SECRET not in str(headers) and SECRET.encode() not in body
    with pytest.raises(ConfigurationError) as caught:
        Webhook(recorder.url, secret=12345)  # type: ignore[arg-type]
    assert "12345" not in str(caught.value)


# --- 4. replay protection ------------------------------------------------------------------


def test_a_signed_request_verifies_within_the_window(recorder: Recorder) -> None:
    sent = dt.datetime(2025, 9, 30, 9, 0, 7, 500_000, tzinfo=dt.UTC)
    hook = Webhook(recorder.url, secret=SECRET, clock=SteppedClock(sent))
    hook(Event("e-1", "case.started", "C-1", "ticket", T0, {}))
    ((headers, body),) = recorder.requests
    assert headers[TIMESTAMP_HEADER] == str(int(sent.timestamp()))
    stamp = int(headers[TIMESTAMP_HEADER])
    assert headers[SIGNATURE_HEADER] == signature(body, SECRET, stamp)
    signed_at = sent.replace(microsecond=0)
    for now in (sent, signed_at + dt.timedelta(minutes=5), sent - dt.timedelta(minutes=5)):
        assert verify_signature(body, headers, SECRET, now=now) == signed_at
    lower = {k.lower(): v for k, v in headers.items()}  # header names in any case
    assert verify_signature(body, lower, SECRET.encode(), now=sent) == signed_at

    def refused(reason: str, **changes: Any) -> None:
        args: dict[str, Any] = {"body": body, "headers": headers, "secret": SECRET}
        args.update(changes)
        now = args.pop("now", sent)
        with pytest.raises(SignatureError) as caught:
            verify_signature(args["body"], args["headers"], args["secret"], now=now)
        assert caught.value.reason == reason
        assert SECRET not in str(caught.value)

    refused("stale", now=sent + dt.timedelta(minutes=6))  # a replay, later
    refused("stale", now=sent - dt.timedelta(minutes=6))  # a clock far ahead
    refused("mismatch", body=body.replace(b"C-1", b"C-2"))
    refused("mismatch", headers={**headers, TIMESTAMP_HEADER: str(stamp + 60)})
    refused("mismatch", secret="another secret")
    refused("missing", headers={k: v for k, v in headers.items() if k != SIGNATURE_HEADER})
    refused("missing", headers={k: v for k, v in headers.items() if k != TIMESTAMP_HEADER})
    refused("missing", headers={**headers, TIMESTAMP_HEADER: "-5"})
    refused("missing", headers={**headers, TIMESTAMP_HEADER: "١٢٣"})  # non-ASCII digits
    with pytest.raises(SignatureError):
        verify_signature(
            body, headers, SECRET, now=sent + dt.timedelta(minutes=2),
            tolerance=dt.timedelta(minutes=1),
        )  # fmt: skip


def test_each_attempt_is_signed_at_its_own_time(recorder: Recorder) -> None:
    clock = SteppedClock(dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.UTC))
    hook = Webhook(recorder.url, secret=SECRET, clock=clock)
    event = Event("e-1", "case.started", "C-1", "ticket", T0, {})
    hook(event)
    clock.advance(hours=1)  # a retry an hour later is not stale for the receiver
    hook(event)
    stamps = [int(headers[TIMESTAMP_HEADER]) for headers, _ in recorder.requests]
    assert stamps[1] - stamps[0] == 3600
    headers, body = recorder.requests[1]
    assert verify_signature(body, headers, SECRET, now=clock.now())


# --- 5. dispatch() says when it stopped at its limit ----------------------------------


def test_dispatch_says_more_when_it_stopped_at_the_limit(store: Store) -> None:
    wf = workflow(store, dispatch="manual")
    got: list[str] = []
    wf.on("*", lambda e: got.append(e.id), name="feed")
    wf.start("ticket", case_id="C-1")
    wf.fire("C-1", "close", actor=ANN)  # 5 events in all
    rounds = []
    while True:  # the worker loop the docs show
        done = wf.dispatch(limit=2)
        rounds.append((int(done), done.more))
        if not done.more:
            break
    assert rounds == [(2, True), (2, True), (1, False)]
    assert len(got) == len(set(got)) == 5
    quiet = wf.dispatch()
    assert isinstance(quiet, Dispatched) and quiet == 0 and not quiet.more


def test_dispatch_without_subscriptions_says_nothing_more() -> None:
    wf = workflow(dispatch="manual")
    wf.start("ticket", case_id="C-1")
    done = wf.dispatch(limit=1)
    assert done == 0 and not done.more
