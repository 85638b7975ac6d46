"""Notifications: the webhook against a real HTTP server on loopback, retries with
backoff, dead letters and replay, the logging receiver, confidential fields.

The server (``http.server`` in a thread) binds 127.0.0.1 on a free port, verifies the
signature of every request with :func:`verify_signature` as a receiver would, and
answers with the status the test scripts for each path. A webhook is remote: it is
delivered by ``dispatch()``, never inside ``start()``/``fire()``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import logging
import threading
import urllib.error
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from techsvc_flow import (
    Actor,
    Event,
    Field,
    ProcessDefinition,
    State,
    SteppedClock,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.errors import SignatureError
from techsvc_flow.notifications import Webhook, log_events, signature, verify_signature
from techsvc_flow.store import Store

SECRET = b"s3cret-for-tests"
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CONFIDENTIAL = "CONFIDENTIAL-price-4711"
CAL = WorkCalendar.china(coverage="provisional")


@attrs.define
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature header matched the server's own HMAC of the body

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver: records requests, answers each path with a scripted status."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self.status: dict[str, int] = {}  # by path; 200 when not set
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def seen(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def keys(self, path: str | None = None) -> list[str]:
        return [r.headers["Idempotency-Key"] for r in self.seen(path)]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        # the receiver's side of the signature check, before the body is parsed
        try:
            verify_signature(body, self.headers, SECRET)
        except SignatureError:
            signed = False
        else:
            signed = True
        with self.server.lock:
            self.server.requests.append(Request(self.path, dict(self.headers), body, signed))
            status = self.server.status.get(self.path, 200)
        if not signed:
            status = 401
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # only a followed redirect would GET
        with self.server.lock:
            self.server.requests.append(Request(self.path, dict(self.headers), b"", False))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for proxy in ("http_proxy", "https_proxy", "all_proxy"):  # talk to loopback directly
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.upper(), raising=False)
    srv = Receiver()
    assert srv.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def ticket() -> ProcessDefinition:
    return ProcessDefinition(
        name="ticket",
        version=1,
        fields=[Field("client", "str"), Field("price", "str", confidential=True)],
        states=[State("open", initial=True), State("done", final=True)],
        transitions=[
            Transition("close", source="open", dest="done", roles="agent", accepts="price")
        ],
    )


def workflow(clock: SteppedClock, store: Store | None = None, **kwargs: Any) -> Workflow:
    return Workflow(
        store,
        calendar=CAL,
        clock=clock,
        processes=[ticket()],
        dispatch="after_commit",
        **kwargs,
    )


def hook(server: Receiver, path: str, **kwargs: Any) -> Webhook:
    kwargs.setdefault("secret", SECRET)
    return Webhook(server.url + path, timeout=5.0, **kwargs)


# --- the webhook itself -------------------------------------------------------------


def test_webhook_posts_signed_json_keyed_by_the_event_id(server: Receiver) -> None:
    clock = SteppedClock(T0)
    wf = workflow(clock)
    got: list[Event] = []
    wf.on("*", got.append, name="memory")
    wf.on("*", hook(server, "/hook"), name="hook")
    wf.start("ticket", case_id="C-1", data={"client": "ACME 科技"})
    assert [e.type for e in got] == ["case.started", "state.entered"]  # local: at once
    assert server.seen() == []  # remote: never inside the request
    assert wf.dispatch() == 2

    requests = server.seen("/hook")
    assert len(requests) == len(got)
    for request, event in zip(requests, got, strict=True):
        assert request.signed
        assert request.headers["Idempotency-Key"] == event.id
        assert request.headers["X-Techsvc-Event"] == event.type
        assert request.headers["Content-Type"].startswith("application/json")
        body = request.json()
        assert body == event.to_json()
        assert body["id"] == event.id and body["case_id"] == "C-1"
    assert server.seen("/hook")[0].json()["payload"]["data"] == {"client": "ACME 科技"}
    assert wf.dispatch() == 0  # everything went out
    assert len(got) == 2  # the local receiver was not called again


def test_signature_is_hmac_sha256_of_the_timestamp_dot_body() -> None:
    body = b'{"id":"x"}'
    signed = b"1759222800." + body
    expected = "sha256=" + hmac.new(SECRET, signed, hashlib.sha256).hexdigest()
    assert signature(body, SECRET, 1759222800) == expected
    assert signature(body, SECRET.decode(), 1759222800) == expected


def test_a_wrong_secret_is_refused_by_the_receiver(server: Receiver) -> None:
    wf = workflow(SteppedClock(T0))
    wf.on("case.started", hook(server, "/hook", secret=b"not the secret"), name="hook")
    wf.start("ticket", case_id="C-1")
    assert wf.dispatch() == 0
    (request,) = server.seen("/hook")
    assert not request.signed
    assert wf.dead_letters() == []
    # the 401 counts as a failed round: the event stays pending for a retry
    assert wf.dispatch(T0 + dt.timedelta(hours=2)) == 0
    assert len(server.seen("/hook")) == 2


def test_webhook_raises_on_non_2xx(server: Receiver) -> None:
    event = Event("e-1", "case.started", "C-1", "ticket", T0, {})
    for status in (400, 404, 500, 503):
        server.status["/hook"] = status
        with pytest.raises(urllib.error.HTTPError) as caught:
            hook(server, "/hook")(event)
        assert caught.value.code == status
    server.status["/hook"] = 204
    hook(server, "/hook")(event)  # any 2xx is success


def test_webhook_does_not_follow_a_redirect(server: Receiver) -> None:
    """A redirected POST would come back as a GET without the event: that is not a
    delivery, so the receiver must fail and the event be retried."""
    server.status["/hook"] = 302
    event = Event("e-1", "case.started", "C-1", "ticket", T0, {})
    with pytest.raises(urllib.error.HTTPError) as caught:
        hook(server, "/hook")(event)
    assert caught.value.code == 302
    assert [r.path for r in server.seen()] == ["/hook"]  # nothing fetched /elsewhere


def test_the_key_in_a_webhook_url_stays_out_of_names_and_logs(
    server: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Robot webhooks (WeCom, DingTalk, Feishu) carry their key in the query string."""
    key = "ROBOT-KEY-93f1"
    wf = workflow(SteppedClock(T0))
    webhook = hook(server, f"/send?key={key}")
    sub = wf.on("case.started", webhook)  # the default name comes from the repr
    assert key not in sub.name and key not in repr(webhook)
    assert repr(webhook) == f"Webhook('{server.url}/send?…')"
    server.status[f"/send?key={key}"] = 500
    with caplog.at_level(logging.DEBUG):
        wf.start("ticket", case_id="C-1")
        wf.dispatch()
    assert server.keys(f"/send?key={key}")  # the request went to the full URL
    assert caplog.records and all(key not in r.getMessage() for r in caplog.records)
    (pending,) = [d for d in wf.store.pending(T0 + dt.timedelta(days=1), 10)]
    assert pending.last_error is not None and key not in pending.last_error


def test_webhook_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="http"):
        Webhook("ftp://127.0.0.1/hook")


def test_an_unreachable_receiver_raises() -> None:
    srv = Receiver()  # bound, then closed: nothing listens on the port any more
    url = srv.url
    srv.server_close()
    event = Event("e-1", "case.started", "C-1", "ticket", T0, {})
    with pytest.raises(OSError):
        Webhook(url + "/hook", timeout=2.0)(event)


# --- retries, dead letters, replay -----------------------------------------------------


def test_a_failing_receiver_is_retried_with_backoff_and_the_same_key(
    server: Receiver, store: Store
) -> None:
    clock = SteppedClock(T0)
    wf = workflow(clock, store)
    wf.on("case.started", hook(server, "/hook"), name="hook")
    server.status["/hook"] = 503
    wf.start("ticket", case_id="C-1")
    assert server.seen("/hook") == []  # a remote receiver waits for the worker
    assert wf.dispatch() == 0  # the first round
    assert len(server.seen("/hook")) == 1

    assert wf.dispatch() == 0  # not before the backoff (30 s)
    clock.advance(seconds=29)
    assert wf.dispatch() == 0
    assert len(server.seen("/hook")) == 1
    clock.advance(seconds=1)
    assert wf.dispatch() == 0  # second round, fails again: next one 60 s later
    assert len(server.seen("/hook")) == 2

    server.status["/hook"] = 200
    clock.advance(seconds=59)
    assert wf.dispatch() == 0
    assert len(server.seen("/hook")) == 2
    clock.advance(seconds=1)
    assert wf.dispatch() == 1
    keys = server.keys("/hook")
    assert len(keys) == 3 and len(set(keys)) == 1  # at least once, one stable key
    assert all(r.signed for r in server.seen("/hook"))
    clock.advance(hours=5)
    assert wf.dispatch() == 0  # delivered: never sent again
    assert len(server.seen("/hook")) == 3


def test_backoff_is_capped() -> None:
    from techsvc_flow.notifications import backoff

    base, cap = dt.timedelta(seconds=30), dt.timedelta(minutes=5)
    steps = [backoff(n, base, cap).total_seconds() for n in (0, 1, 2, 3, 4, 5, 6, 7, 10_000)]
    assert steps == [30, 30, 60, 120, 240, 300, 300, 300, 300]


def test_many_rounds_do_not_overflow_the_backoff() -> None:
    """With a high max_attempts the doubling must stop at the cap: 2**42 times 30 s
    does not fit in a timedelta, and dispatch must not crash on it."""
    clock = SteppedClock(T0)
    wf = workflow(clock, max_attempts=60, retry_cap=dt.timedelta(hours=1))
    calls: list[str] = []

    def down(event: Event) -> None:
        calls.append(event.id)
        raise ConnectionError("down")

    wf.on("case.started", down, name="down")
    wf.start("ticket", case_id="C-1")
    for _ in range(59):
        clock.advance(hours=1)
        assert wf.dispatch() == 0
    assert len(calls) == 60
    (dead,) = wf.dead_letters()
    assert dead.attempts == 60


def test_dead_letters_after_max_attempts_and_replay(server: Receiver, store: Store) -> None:
    clock = SteppedClock(T0)
    wf = workflow(clock, store, max_attempts=3)
    wf.on("case.started", hook(server, "/hook"), name="hook")
    server.status["/hook"] = 500
    wf.start("ticket", case_id="C-1")
    wf.dispatch()
    for wait in (30, 60):
        clock.advance(seconds=wait)
        wf.dispatch()
    assert len(server.seen("/hook")) == 3
    (dead,) = wf.dead_letters()
    assert dead.status == "dead" and dead.attempts == 3
    assert dead.event.type == "case.started"
    assert dead.last_error is not None and "500" in dead.last_error
    assert dead.event.id == server.keys("/hook")[0]

    clock.advance(days=1)
    assert wf.dispatch() == 0  # a dead letter is not retried by itself
    assert len(server.seen("/hook")) == 3

    server.status["/hook"] = 200
    replayed = wf.replay(dead.event.id)
    assert replayed.status == "delivered"
    assert wf.dead_letters() == []
    assert server.keys("/hook") == [dead.event.id] * 4
    assert server.seen("/hook")[-1].json() == dead.event.to_json()


def test_replay_of_an_unknown_event_raises() -> None:
    wf = workflow(SteppedClock(T0))
    with pytest.raises(KeyError):
        wf.replay("no-such-event")


def test_a_failing_receiver_does_not_stop_the_others(server: Receiver, store: Store) -> None:
    clock = SteppedClock(T0)
    wf = workflow(clock, store)
    wf.on("*", hook(server, "/bad"), name="bad")  # registered first: tried first
    wf.on("*", hook(server, "/good"), name="good")
    server.status["/bad"] = 500
    wf.start("ticket", case_id="C-1")
    wf.fire("C-1", "close", actor=Actor("ann", {"agent"}))
    assert wf.dispatch() == 0
    first = server.keys("/good")
    assert len(first) == 5  # started, entered; transition, left, entered
    assert server.keys("/bad") == first

    clock.advance(seconds=30)
    assert wf.dispatch() == 0
    assert server.keys("/bad") == first * 2
    server.status["/bad"] = 200
    clock.advance(seconds=60)
    assert wf.dispatch() == 5
    assert server.keys("/bad") == first * 3
    assert server.keys("/good") == first  # the receiver that succeeded is not called again
    assert wf.dead_letters() == []


def test_without_subscriptions_the_outbox_is_left_for_another_workflow(
    server: Receiver, store: Store
) -> None:
    clock = SteppedClock(T0)
    quiet = workflow(clock, store)
    quiet.start("ticket", case_id="C-1")
    quiet.fire("C-1", "close", actor=Actor("ann", {"agent"}))
    assert quiet.dispatch() == 0
    assert quiet.dead_letters() == []

    worker = workflow(clock, store)
    worker.on("*", hook(server, "/hook"), name="hook")
    assert worker.dispatch() == 5
    assert [r.json()["type"] for r in server.seen("/hook")] == [
        "case.started",
        "state.entered",
        "case.transition",
        "state.left",
        "state.entered",
    ]
    assert all(r.signed for r in server.seen("/hook"))
    assert worker.dispatch() == 0 and quiet.dispatch() == 0


def test_manual_dispatch_waits_for_the_worker(server: Receiver) -> None:
    clock = SteppedClock(T0)
    wf = Workflow(calendar=CAL, clock=clock, processes=[ticket()], dispatch="manual")
    wf.on("*", hook(server, "/hook"), name="hook")
    wf.start("ticket", case_id="C-1")
    assert server.seen() == []
    assert wf.dispatch() == 2
    assert len(server.seen("/hook")) == 2


# --- logging and confidential fields ----------------------------------------------------


def test_log_events_writes_one_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    clock = SteppedClock(T0)
    wf = workflow(clock)
    got: list[Event] = []
    wf.on("*", got.append, name="memory")
    wf.on("*", log_events("techsvc_flow.events"), name="log")
    with caplog.at_level(logging.INFO, logger="techsvc_flow.events"):
        wf.start("ticket", case_id="C-1", data={"client": "ACME", "price": CONFIDENTIAL})
        clock.advance(hours=1)
        wf.fire("C-1", "close", actor=Actor("ann", {"agent"}), payload={"price": CONFIDENTIAL})
    records = [r for r in caplog.records if r.name == "techsvc_flow.events"]
    assert len(records) == len(got) == 5
    for record, event in zip(records, got, strict=True):
        line = record.getMessage()
        assert "\n" not in line
        kind, _, text = line.partition(" ")
        assert kind == event.type
        assert json.loads(text) == event.to_json()
        assert record.levelno == logging.INFO
    assert all(CONFIDENTIAL not in r.getMessage() for r in caplog.records)
    # the case itself keeps the value; only what leaves the engine is scrubbed
    assert wf.get("C-1").data["price"] == CONFIDENTIAL


def test_confidential_fields_never_reach_a_webhook(
    server: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SteppedClock(T0)
    wf = workflow(clock)
    wf.on("*", hook(server, "/hook"), name="hook")
    with caplog.at_level(logging.DEBUG):
        wf.start("ticket", case_id="C-1", data={"client": "ACME", "price": CONFIDENTIAL})
        wf.fire("C-1", "close", actor=Actor("ann", {"agent"}), payload={"price": CONFIDENTIAL})
        assert wf.dispatch() == 5
    bodies = [r.body.decode() for r in server.seen("/hook")]
    assert len(bodies) == 5
    assert all(CONFIDENTIAL not in b and "price" not in b for b in bodies)
    started = json.loads(bodies[0])
    assert started["payload"]["data"] == {"client": "ACME"}
    transition = json.loads(bodies[2])
    assert transition["type"] == "case.transition" and transition["payload"]["payload"] == {}
    assert all(CONFIDENTIAL not in r.getMessage() for r in caplog.records)


def test_delivery_failures_are_logged_without_the_payload(
    server: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    wf = workflow(SteppedClock(T0))
    wf.on("case.started", hook(server, "/hook"), name="hook")
    server.status["/hook"] = 500
    with caplog.at_level(logging.WARNING, logger="techsvc_flow"):
        wf.start("ticket", case_id="C-1", data={"client": "ACME", "price": CONFIDENTIAL})
        wf.dispatch()
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "not delivered" in record.getMessage() and "500" in record.getMessage()
    assert CONFIDENTIAL not in record.getMessage()
