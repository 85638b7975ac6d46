"""Channel benchmark: what a robot adds per delivered event over the plain ``Webhook``.

Delivers the same ``sla.breach`` event, N times, to a loopback fake robot with each
receiver: ``Webhook`` (JSON of the event, HMAC-SHA256 header), ``WeCom`` (render
Markdown), ``DingTalk`` (render + sign the URL) and ``Feishu`` (render a card + sign the
body), and to an always-OK loopback endpoint for the webhook. Prints the median and p95
per delivery and each channel's median minus the webhook's: the cost of rendering,
signing and reading the vendor's code, over the same HTTP round trip.

Run: ``python -m benchmarks.channels`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from techsvc_flow import ProcessDefinition, Sla, State, Transition, WorkCalendar
from techsvc_flow.channels import DingTalk, Feishu, Messages, Person, WeCom
from techsvc_flow.notifications import Event, Webhook
from techsvc_flow.testing.robots import FakeDingTalk, FakeFeishu, FakeWeCom

AT = dt.datetime(2025, 10, 9, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PROCESS = ProcessDefinition(
    name="complaint",
    version=1,
    title={"zh": "客户投诉"},
    states=[State("open", initial=True, label={"zh": "已受理"}), State("done", final=True)],
    transitions=[Transition("close", source="open", dest="done")],
    slas=[Sla("reply", "1wd", start_states="open")],
)
EVENT = Event(
    "e-1",
    "sla.breach",
    "C-1",
    "complaint",
    AT,
    {"sla": "reply", "mark": "breach", "due": AT.isoformat(), "state": "open"},
)
ANN = [Person("ann", "王芳", mobile="13800000001", wecom="wangfang", feishu="ou_ann")]


def _time(send: Callable[[], object], n: int) -> list[float]:
    send()  # warm up (connection set-up, imports)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        send()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run (few rounds)")
    args = parser.parse_args(argv)
    n = 20 if args.quick else 500
    messages = Messages(
        processes=[PROCESS],
        calendar=WorkCalendar.china(coverage="provisional"),
        link="https://crm.example.com/cases/{case_id}",
    )
    many = 10**9  # the fakes' rate limit is not what is measured
    results: dict[str, list[float]] = {}
    with (
        FakeWeCom(per_minute=many) as wecom,
        FakeDingTalk(secret="SECb", per_minute=many) as ding,
        FakeFeishu(secret="fb", per_minute=many) as feishu,
    ):
        # the webhook posts to the WeCom fake's URL: same server, same round trip; the
        # fake refuses its body with an error code in a 200, which the webhook ignores
        hook = Webhook(wecom.url, secret="hook-secret")
        results["Webhook"] = _time(lambda: hook(EVENT), n)
        robots = {
            "WeCom": WeCom(wecom.url, messages=messages, people=ANN),
            "DingTalk": DingTalk(ding.url, secret="SECb", messages=messages, people=ANN),
            "Feishu": Feishu(feishu.url, secret="fb", messages=messages, people=ANN),
        }
        for name, robot in robots.items():
            results[name] = _time(lambda r=robot: r(EVENT), n)  # type: ignore[misc]
        render = _time(lambda: messages.render(EVENT, ANN).markdown(), n)
    base = statistics.median(results["Webhook"])
    print(f"{n} deliveries each to a loopback fake; µs per delivered event")
    print(f"{'receiver':<10} {'median':>8} {'p95':>8} {'vs Webhook':>11}")
    for name, times in results.items():
        med = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"{name:<10} {med:8.0f} {p95:8.0f} {med - base:+11.0f}")
    print(f"render alone (Markdown): median {statistics.median(render):.0f} µs")


if __name__ == "__main__":
    main()
