"""Channels: WeCom, DingTalk and Feishu robots and e-mail, against loopback fakes that
check what each vendor documents; the outbox's rate-limit and configuration-error
handling; messages; routing as data; ``notify test``. Every server is on loopback."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import (
    Actor,
    Field,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.channels import (
    DingTalk,
    Email,
    Feishu,
    Messages,
    Person,
    Robot,
    Route,
    Routing,
    WeCom,
)
from techsvc_flow.cli import main
from techsvc_flow.errors import ConfigurationError
from techsvc_flow.notifications import (
    Delivery,
    DeliveryFailed,
    Event,
    Subscription,
    Webhook,
    deliver,
)
from techsvc_flow.store import Store
from techsvc_flow.testing.robots import FakeDingTalk, FakeFeishu, FakeRobot, FakeWeCom
from techsvc_flow.testing.smtp import FakeSmtp

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=SH)
CAL = WorkCalendar.china(coverage="provisional")
SECRET = "SEC-TOP-SECRET-7f3a9c"
TOKEN = "KEY-TOP-SECRET-0b1c2d"
ANN = Person(
    "ann",
    "王芳",
    mobile="13800000001",
    email="ann@example.com",
    wecom="wangfang",
    dingtalk="dt-ann",
    feishu="ou_ann",
)
AGENT = Actor("ann", {"agent"})


def complaint() -> ProcessDefinition:
    return ProcessDefinition(
        name="complaint",
        version=1,
        title={"zh": "客户投诉", "en": "Complaint"},
        fields=[Field("phone", confidential=True)],
        states=[
            State("open", initial=True, label={"zh": "已受理", "en": "Received"}),
            State("done", final=True, label={"zh": "已办结", "en": "Closed"}),
        ],
        transitions=[
            Transition(
                "close",
                source="open",
                dest="done",
                roles="agent",
                label={"zh": "办结", "en": "close"},
            )
        ],
        slas=[Sla("reply", "1wd", start_states="open", stop_states="done", warn_at=(0.5,))],
    )


def workflow(store: Store | None = None, **kwargs: Any) -> Workflow:
    kwargs.setdefault("clock", SteppedClock(T0))
    return Workflow(store, calendar=CAL, processes=[complaint()], **kwargs)


def messages(lang: str = "zh") -> Messages:
    return Messages(
        lang=lang,
        processes=[complaint()],
        calendar=CAL,
        link="https://crm.example.com/cases/{case_id}",
    )


def event(kind: str = "sla.breach", **payload: Any) -> Event:
    payload = {"sla": "reply", "mark": "breach", "due": T0.isoformat(), **payload}
    return Event("ev-1", kind, "C-1", "complaint", T0 + dt.timedelta(hours=2), payload)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for proxy in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.upper(), raising=False)


@pytest.fixture(params=["wecom", "dingtalk", "feishu"])
def robot(request: pytest.FixtureRequest) -> Iterator[tuple[FakeRobot, type[Robot]]]:
    kinds: dict[str, tuple[type[FakeRobot], type[Robot]]] = {
        "wecom": (FakeWeCom, WeCom),
        "dingtalk": (FakeDingTalk, DingTalk),
        "feishu": (FakeFeishu, Feishu),
    }
    fake_kind, receiver_kind = kinds[request.param]
    secret = None if request.param == "wecom" else SECRET
    with fake_kind(TOKEN, secret=secret) as fake:
        yield fake, receiver_kind


def make(fake: FakeRobot, kind: type[Robot], **kwargs: Any) -> Any:
    if kind is not WeCom:
        kwargs.setdefault("secret", fake.secret)
    kwargs.setdefault("messages", messages())
    return kind(fake.url, timeout=5, **kwargs)


# --- each robot, as its vendor documents it ---------------------------------------------


@pytest.mark.parametrize("fmt", [0, 1])
def test_robot_delivers_signed_and_formatted(
    robot: tuple[FakeRobot, type[Robot]], fmt: int
) -> None:
    fake, kind = robot
    receiver = make(fake, kind, fmt=kind.FORMATS[fmt], people=[ANN])
    receiver(event())
    assert fake.answers == [0] and len(fake.received) == 1
    body = fake.received[0]
    text = fake.texts()[0]
    assert "客户投诉 C-1" in text and "ev-1" in text and "crm.example.com/cases/C-1" in text
    if kind is WeCom and receiver.fmt == "text":
        assert body["text"]["mentioned_list"] == ["wangfang"]
    if kind is WeCom and receiver.fmt == "markdown":
        assert "<@wangfang>" in body["markdown"]["content"]
    if kind is DingTalk:
        assert body["at"] == {"atMobiles": ["13800000001"], "atUserIds": [], "isAtAll": False}
    if kind is Feishu:
        assert '<at user_id=\\"ou_ann\\"></at>' in text
        assert body["msg_type"] == kind.FORMATS[fmt]


def test_wrong_secret_or_key_is_a_configuration_error(robot: tuple[FakeRobot, type[Robot]]) -> None:
    fake, kind = robot
    if kind is WeCom:
        receiver = kind(fake.url.replace(TOKEN, "another-key"), messages=messages())
    else:
        receiver = make(fake, kind, secret="SEC-wrong")
    with pytest.raises(DeliveryFailed) as caught:
        receiver(event())
    assert caught.value.permanent and caught.value.code in kind.BAD_CONFIG
    assert fake.received == []
    for shown in (str(caught.value), repr(receiver)):
        assert TOKEN not in shown and SECRET not in shown and "SEC-wrong" not in shown


def test_unsigned_request_to_a_signing_robot_is_refused() -> None:
    with FakeDingTalk(TOKEN, secret=SECRET) as fake, pytest.raises(DeliveryFailed, match="310000"):
        DingTalk(fake.url)(event())
    with FakeFeishu(TOKEN, secret=SECRET) as fake, pytest.raises(DeliveryFailed, match="19021"):
        Feishu(fake.url)(event())


def test_stale_timestamp_is_refused() -> None:
    old = SteppedClock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    fake_dt = FakeDingTalk(TOKEN, secret=SECRET)
    with fake_dt as fake, pytest.raises(DeliveryFailed, match="invalid timestamp"):
        DingTalk(fake.url, secret=SECRET, clock=old)(event())
    with FakeFeishu(TOKEN, secret=SECRET) as fake, pytest.raises(DeliveryFailed, match="19021"):
        Feishu(fake.url, secret=SECRET, clock=old)(event())


def test_rate_limit_code_asks_to_retry_after_the_window(
    robot: tuple[FakeRobot, type[Robot]],
) -> None:
    fake, kind = robot
    fake.per_minute = 1
    receiver = make(fake, kind)
    receiver(event())
    with pytest.raises(DeliveryFailed) as caught:
        receiver(event())
    assert caught.value.retry_after == kind.WINDOW and not caught.value.permanent
    assert caught.value.code in kind.RATE_LIMITED


def test_vendor_error_and_network_error_are_retryable(robot: tuple[FakeRobot, type[Robot]]) -> None:
    fake, kind = robot
    receiver = make(fake, kind)
    fake.fail(-1, "system busy")
    with pytest.raises(DeliveryFailed, match="system busy") as caught:
        receiver(event())
    assert not caught.value.permanent and caught.value.retry_after is None
    url = fake.url
    fake.stop()
    with pytest.raises(DeliveryFailed, match="network error"):
        kind(url, timeout=2)(event())


def test_robot_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"WeCom\.url"):
        WeCom("ftp://qyapi.weixin.qq.com/x?key=" + TOKEN)
    with pytest.raises(ConfigurationError, match=r"DingTalk\.fmt"):
        DingTalk("https://oapi.dingtalk.com/robot/send?access_token=t", fmt="card")
    with pytest.raises(ConfigurationError, match=r"Feishu\.secret"):
        Feishu("https://open.feishu.cn/open-apis/bot/v2/hook/t", secret="")
    with pytest.raises(ConfigurationError, match="timeout"):
        WeCom("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", timeout=math_inf())


def math_inf() -> float:
    return float("inf")


# --- the outbox: rate limits wait, configuration errors die at once ---------------------


def _raising(exc: Exception) -> Any:
    def receive(event: Event) -> None:
        raise exc

    return receive


def _round(delivery: Delivery, exc: Exception, max_attempts: int = 3) -> Delivery:
    subs = {"r": Subscription("*", _raising(exc), "r")}
    return deliver(
        delivery,
        subs,
        T0,
        max_attempts=max_attempts,
        base=dt.timedelta(seconds=30),
        cap=dt.timedelta(hours=1),
    )


def test_rate_limit_is_not_counted_and_never_dead() -> None:
    window = dt.timedelta(minutes=10)
    d = Delivery(event(), attempts=0)
    for _ in range(5):
        d = _round(d, DeliveryFailed(130101, "send too fast", retry_after=window), max_attempts=1)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 0, T0 + window)
    assert "130101" in (d.last_error or "")


def test_permanent_failure_is_dead_at_once_and_says_so() -> None:
    d = _round(Delivery(event()), DeliveryFailed(310000, "sign not match", permanent=True))
    assert (d.status, d.attempts) == ("dead", 1)
    assert "permanent configuration error: code 310000: sign not match" in (d.last_error or "")


def test_ordinary_failure_still_counts() -> None:
    d = _round(Delivery(event()), DeliveryFailed(-1, "busy"), max_attempts=1)
    assert (d.status, d.attempts) == ("dead", 1)


def test_rate_limited_event_is_retried_after_the_window(store: Store) -> None:
    wf = workflow(store, dispatch="manual", max_attempts=1)
    with FakeDingTalk(TOKEN, secret=SECRET, per_minute=1) as fake:
        wf.on("case.started", DingTalk(fake.url, secret=SECRET, messages=messages()))
        wf.start("complaint", case_id="C-1", actor=AGENT)
        wf.start("complaint", case_id="C-2", actor=AGENT)
        wf.dispatch(T0)
        assert wf.dead_letters() == [] and fake.answers == [0, 130101]
        fake.per_minute = 20
        wf.dispatch(T0 + dt.timedelta(minutes=9, seconds=59))  # not before the window
        assert fake.answers == [0, 130101]
        wf.dispatch(T0 + dt.timedelta(minutes=10))
        assert fake.answers == [0, 130101, 0]
        assert [b["markdown"]["text"].count("C-2") > 0 for b in fake.received] == [False, True]


def test_bad_signature_is_a_dead_letter_at_once_without_secrets(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    wf = workflow(store, dispatch="manual", max_attempts=8)
    with FakeFeishu(TOKEN, secret=SECRET) as fake, caplog.at_level(logging.DEBUG):
        wf.on("case.started", Feishu(fake.url, secret="SEC-wrong-one", messages=messages()))
        wf.start("complaint", case_id="C-1", actor=AGENT)
        wf.dispatch(T0)
        [dead] = wf.dead_letters()
    assert dead.attempts == 1
    assert "permanent configuration error: code 19021" in (dead.last_error or "")
    seen = caplog.text + repr(dead) + repr(wf._outbox.subscriptions)
    assert TOKEN not in seen and "SEC-wrong-one" not in seen and SECRET not in seen


def test_outage_then_every_message_arrives_exactly_once(store: Store) -> None:
    clock = SteppedClock(T0)
    wf = workflow(
        store,
        dispatch="manual",
        clock=clock,
        max_attempts=20,
        retry_base=dt.timedelta(seconds=1),
        retry_cap=dt.timedelta(seconds=4),
    )
    with FakeWeCom(TOKEN, per_minute=1000) as fake:
        wf.on("case.*", WeCom(fake.url, messages=messages(), timeout=5))
        for i in range(6):
            wf.start("complaint", case_id=f"C-{i}", actor=AGENT)
        fake.fail(-1, "system busy", times=9)
        for _ in range(40):
            clock.advance(dt.timedelta(seconds=5))
            wf.dispatch(clock.now())
        ids = [json.loads(t)["markdown"]["content"].rsplit("`", 2)[-2] for t in fake.texts()]
    assert fake.answers.count(-1) == 9
    assert len(ids) == 6 and len(set(ids)) == 6  # each event once, none lost
    assert wf.dead_letters() == []


# --- e-mail -----------------------------------------------------------------------------


def test_email_sends_text_and_html_to_the_lookup() -> None:
    with FakeSmtp(username="flow", password="pw-TOP-SECRET") as smtp:
        mail = Email(
            smtp.host,
            smtp.port,
            sender="flow@example.com",
            security="none",
            username="flow",
            password="pw-TOP-SECRET",
            messages=messages(),
            people=lambda e: [ANN],
        )
        mail(event())
        [msg] = smtp.messages
    assert smtp.envelopes == [("flow@example.com", ["ann@example.com"])]
    assert msg["Subject"].startswith("客户投诉 C-1")
    assert msg["Message-ID"] == "<ev-1@techsvc-flow>"
    plain = msg.get_body(("plain",))
    rich = msg.get_body(("html",))
    assert plain is not None and rich is not None
    assert "王芳" in plain.get_content() and "<li>" in rich.get_content()
    assert "pw-TOP-SECRET" not in repr(mail)


def test_email_login_refused_is_permanent_without_the_password() -> None:
    with FakeSmtp(username="flow", password="right") as smtp:
        mail = Email(
            smtp.host,
            smtp.port,
            sender="flow@example.com",
            security="none",
            username="flow",
            password="pw-TOP-SECRET",
            people=[ANN],
        )
        with pytest.raises(DeliveryFailed) as caught:
            mail(event())
    assert caught.value.permanent and caught.value.code == 535
    assert "pw-TOP-SECRET" not in str(caught.value)


def test_email_starttls_unsupported_and_no_address() -> None:
    with FakeSmtp() as smtp:
        mail = Email(smtp.host, smtp.port, sender="flow@example.com", people=[ANN])
        with pytest.raises(DeliveryFailed, match="does not support starttls"):
            mail(event())
        nobody = Email(
            smtp.host,
            smtp.port,
            sender="flow@example.com",
            security="none",
            people=[Person("bo", "Bo")],
        )
        with pytest.raises(DeliveryFailed, match="no recipient"):
            nobody(event())
    with pytest.raises(ConfigurationError, match=r"Email\.security"):
        Email("h", sender="a@b", security="tls")


def test_email_attempt_has_a_hard_total_deadline() -> None:
    """A server that sends its greeting one byte every 0.25 s cannot hold the attempt
    past ``timeout`` (socket timeouts alone bound each read only)."""
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            for byte in b"220 slow.example ESMTP ready\r\n" * 4:
                if stop.wait(0.25):
                    return
                with contextlib.suppress(OSError):
                    conn.sendall(bytes([byte]))

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        threading.Thread(target=lambda: trickle(server.accept()[0]), daemon=True).start()
        mail = Email("127.0.0.1", port, sender="a@b.example", security="none",
                     timeout=1.0, people=[ANN])  # fmt: skip
        began = time.monotonic()
        with pytest.raises(DeliveryFailed, match="within 1 s") as caught:
            mail(event())
        took = time.monotonic() - began
        stop.set()
    assert 0.9 <= took < 1.6, took
    assert not caught.value.permanent  # retried later, like any network failure


# --- messages ---------------------------------------------------------------------------


def test_message_is_bilingual_and_actionable() -> None:
    zh = messages().render(event(), [ANN])
    en = messages("en").render(event(), [ANN])
    assert zh.title == "客户投诉 C-1: 时限“reply”已超时"
    assert en.title == "Complaint C-1: Limit reply exceeded"
    assert "截止: 2025-10-09 09:00" in zh.lines
    assert "请处理: 王芳" in zh.lines
    assert zh.link == "https://crm.example.com/cases/C-1"
    assert any(line.startswith("剩余工作时间: 已超时") for line in zh.lines)
    warn = messages().render(
        event("sla.warning", mark="warning:50%", due=(T0 + dt.timedelta(days=1)).isoformat())
    )
    assert "已用 50%" in warn.title
    assert any(line.startswith("剩余工作时间: ") and "超时" not in line for line in warn.lines)


def test_template_override_and_unknown_field() -> None:
    m = Messages(templates={"sla.breach": "超时！{case_id} 请 {who} 处理"})
    assert m.render(event(), [ANN]).lines == ("超时！C-1 请 王芳 处理",)
    with pytest.raises(ConfigurationError, match="unknown field"):
        Messages(templates={"sla.breach": "{data[phone]}"})
    with pytest.raises(ConfigurationError, match=r"Messages\.lang"):
        Messages(lang="fr")


def test_confidential_fields_never_appear(store: Store) -> None:
    wf = workflow(store, dispatch="manual")
    with FakeWeCom(TOKEN) as fake:
        wf.on("*", WeCom(fake.url, fmt="text", messages=messages()))
        wf.start("complaint", case_id="C-1", actor=AGENT, data={"phone": "13912345678"})
        wf.fire("C-1", "close", actor=AGENT)
        wf.dispatch(T0)
    assert len(fake.received) >= 4
    assert all("13912345678" not in t for t in fake.texts())


# --- routing ----------------------------------------------------------------------------


def lookup(kind: str, name: str, event: Event) -> Sequence[Person]:
    return {("role", "handler"): [ANN], ("user", "boss"): [Person("boss", "李总")]}.get(
        (kind, name), []
    )


def test_routing_from_toml_sends_each_route_once(tmp_path: Path, store: Store) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(
        '[[route]]\nevent = "sla.warning"\nlevel = "warning:50%"\nchannel = "handler"\n'
        'recipients = ["role:handler"]\n'
        '[[route]]\nevent = "sla.breach"\nchannel = "team"\nrecipients = ["user:boss"]\n',
        encoding="utf-8",
    )
    clock = SteppedClock(T0)
    wf = workflow(store, dispatch="manual", clock=clock)
    with FakeWeCom(TOKEN) as wecom, FakeDingTalk(TOKEN, secret=SECRET) as ding:
        channels = {
            "handler": WeCom(wecom.url, fmt="text", messages=messages()),
            "team": DingTalk(ding.url, secret=SECRET, messages=messages()),
        }
        routing = Routing.load(table, channels=channels, lookup=lookup)
        assert [s.name for s in routing.subscribe(wf)] == [
            "route:sla.warning#0",
            "route:sla.breach#1",
        ]
        wf.start("complaint", case_id="C-1", actor=AGENT)
        clock.advance(dt.timedelta(days=3))
        wf.tick(clock.now())
        wf.dispatch(clock.now())
        wf.dispatch(clock.now())
    assert len(wecom.received) == 1 and "王芳" in wecom.texts()[0]
    assert wecom.received[0]["text"]["mentioned_list"] == ["wangfang"]
    assert len(ding.received) == 1 and "李总" in ding.texts()[0]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"route": [{"channel": "nope"}]}, "t.json: route[0].channel: unknown channel 'nope'"),
        ({"route": [{"channel": "x", "recipients": ["boss"]}]}, "route[0].recipients[0]"),
        ({"route": [{"channel": "x", "colour": "red"}]}, "unknown key(s) ['colour']"),
        ({"route": [{"event": "sla.*"}]}, "route[0].channel: is missing"),
        ({"route": {"channel": "x"}}, "route: must be a list"),
    ],
)
def test_bad_routing_tables_name_the_path(data: Any, where: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Routing.from_data(
            data, channels={"x": WeCom("http://h/?key=k")}, lookup=lookup, source="t.json"
        )
    assert where in str(caught.value)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[route]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"bad\.toml: cannot be read"):
        Routing.load(bad, channels={}, lookup=lookup)


def test_route_matches_process_sla_and_level() -> None:
    route = Route("x", event="sla.*", process="compl*", sla="reply", level="breach")
    assert route.matches(event())
    assert not route.matches(event(mark="warning:50%"))
    assert not route.matches(event(sla="resolve"))


# --- the webhook is unchanged; the CLI sends a test -------------------------------------


def test_webhook_is_still_a_plain_retryable_receiver() -> None:
    assert Webhook("http://127.0.0.1:9/x").remote is True


def test_cli_notify_test(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeFeishu(TOKEN, secret=SECRET) as fake:
        args = ["notify", "test", "--channel", "feishu", "--url", fake.url]
        assert main([*args, "--secret", SECRET]) == 0
        assert "测试消息" in fake.texts()[0]
        assert main([*args, "--secret", "SEC-wrong"]) == 1
    out = capsys.readouterr()
    assert "19021" in out.err and TOKEN not in out.out + out.err


def test_channels_benchmark_quick_run() -> None:
    """Every receiver is measured beside the webhook, on loopback."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.channels", "--quick"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("Webhook", "WeCom", "DingTalk", "Feishu"):
        assert f"\n{name} " in result.stdout
