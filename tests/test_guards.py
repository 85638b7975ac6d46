"""Guards: each kind holding and failing, with its reason code and details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import Guard, Reason, WorkCalendar
from techsvc_flow.errors import DefinitionError
from techsvc_flow.guards import GuardContext

SHANGHAI = ZoneInfo("Asia/Shanghai")


def ctx(
    data: Mapping[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
    counts: Mapping[str, int] | None = None,
    **kwargs: Any,
) -> GuardContext:
    return GuardContext(data=data or {}, payload=payload or {}, counts=counts or {}, **kwargs)


def test_reason_str_and_defaults() -> None:
    reason = Reason("contract_clauses_missing", "clauses lacks b", ["b"])
    assert str(reason) == "contract_clauses_missing: clauses lacks b"
    assert reason.details == ("b",)
    assert reason.kind == "guard"
    assert Reason("x", "y", [1, 2]).details == ("1", "2")  # details are text


def test_value_prefers_the_payload() -> None:
    c = ctx(data={"a": 1, "b": 2}, payload={"a": 10})
    assert c.value("a") == 10
    assert c.value("b") == 2
    assert c.value("c") is None


# --- present --------------------------------------------------------------------------


def test_present_holds() -> None:
    g = Guard.present("missing_info", "name", "phone")
    assert g.check(ctx(data={"name": "Li"}, payload={"phone": "138"})) is None


def test_present_names_the_missing_fields() -> None:
    g = Guard.present("missing_info", "name", "phone", "email")
    reason = g.check(ctx(data={"name": "Li", "phone": "", "email": []}))
    assert reason == Reason("missing_info", "missing phone, email", ("phone", "email"), "guard")


def test_present_with_own_message() -> None:
    g = Guard.present("missing_info", "name", message="请填写姓名")
    reason = g.check(ctx())
    assert reason is not None
    assert reason.message == "请填写姓名"
    assert reason.details == ("name",)
    assert str(reason) == "missing_info: 请填写姓名"


# --- contains_all ---------------------------------------------------------------------


def test_contains_all_holds() -> None:
    g = Guard.contains_all("clauses_missing", "clauses", "abc")
    assert g.check(ctx(data={"clauses": ["c", "b", "a", "z"]})) is None


def test_contains_all_names_the_missing_values() -> None:
    g = Guard.contains_all("clauses_missing", "clauses", list("abcdefghij"))
    reason = g.check(ctx(payload={"clauses": ["a", "c", "d", "e", "f", "g", "h", "i"]}))
    assert reason is not None
    assert reason.code == "clauses_missing"
    assert reason.details == ("b", "j")
    assert reason.message == "clauses lacks b, j"


def test_contains_all_on_a_missing_or_non_list_field() -> None:
    g = Guard.contains_all("clauses_missing", "clauses", ["a", "b"])
    missing = g.check(ctx())
    assert missing is not None and missing.details == ("a", "b")
    text = g.check(ctx(data={"clauses": "ab"}))  # a string is not a list of clauses
    assert text is not None and text.details == ("a", "b")


# --- equals / one_of ------------------------------------------------------------------


def test_equals() -> None:
    g = Guard.equals("not_accepted", "decision", "accept")
    assert g.check(ctx(data={"decision": "accept"})) is None
    reason = g.check(ctx(data={"decision": "decline"}))
    assert reason == Reason("not_accepted", "decision must be 'accept'", ("decision",), "guard")


def test_one_of() -> None:
    g = Guard.one_of("bad_severity", "severity", [1, 2, 3])
    assert g.check(ctx(payload={"severity": 2})) is None
    reason = g.check(ctx(payload={"severity": 5}))
    assert reason == Reason("bad_severity", "severity must be one of 1, 2, 3", ("severity",))


# --- max_count ------------------------------------------------------------------------


def test_max_count() -> None:
    g = Guard.max_count("too_many_reworks", "rework", 2)
    assert g.check(ctx()) is None
    assert g.check(ctx(counts={"rework": 1})) is None
    reason = g.check(ctx(counts={"rework": 2}))
    assert reason is not None
    assert reason.code == "too_many_reworks"
    assert reason.details == ("rework",)
    assert reason.message == "rework already done 2 times (limit 2)"


# --- within ---------------------------------------------------------------------------


def test_within_counts_working_days(china: WorkCalendar) -> None:
    g = Guard.within("too_late", "7wd")
    entered = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)
    last_moment = dt.datetime(2025, 10, 17, 0, 0, tzinfo=SHANGHAI)  # end of Thu 10-16
    base = {"entered_at": entered, "calendar": china, "state": "investigating"}
    # seven calendar days later is well within: National Day is off
    assert g.check(ctx(now=entered + dt.timedelta(days=7), **base)) is None
    assert g.check(ctx(now=last_moment, **base)) is None
    reason = g.check(ctx(now=last_moment + dt.timedelta(seconds=1), **base))
    assert reason is not None
    assert reason.code == "too_late"
    assert reason.details == ("7wd",)
    assert reason.message == (
        "the 7wd period since 'investigating' ended 2025-10-17T00:00:00+08:00"
    )


def test_within_needs_time() -> None:
    reason = Guard.within("too_late", "24h").check(ctx())
    assert reason is not None
    assert reason.details == ("time",)


# --- call -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "details", "message"),
    [
        (True, None, None),
        (None, None, None),
        ([], None, None),
        (False, ("signed",), "signed does not hold"),
        ("client has not signed", ("client has not signed",), "client has not signed"),
        (["clause c", "clause f"], ("clause c", "clause f"), "clause c; clause f"),
    ],
)
def test_call(result: Any, details: tuple[str, ...] | None, message: str | None) -> None:
    seen: list[GuardContext] = []

    def signed(c: GuardContext) -> Any:
        seen.append(c)
        return result

    g = Guard.call("not_signed", "signed")
    context = ctx(data={"x": 1})
    reason = g.check(context, {"signed": signed})
    assert seen == [context]
    if details is None:
        assert reason is None
    else:
        assert reason == Reason("not_signed", message or "", details, "guard")


# --- dict form ------------------------------------------------------------------------


def test_guard_dict_round_trip() -> None:
    guards = [
        Guard.present("a", "x", "y"),
        Guard.contains_all("b", "x", [1, 2]),
        Guard.equals("c", "x", None, message="must be empty"),
        Guard.one_of("d", "x", ["p", "q"]),
        Guard.max_count("e", "redo", 3),
        Guard.within("f", "4wh"),
        Guard.call("g", "fn"),
    ]
    for g in guards:
        assert Guard.from_dict(g.to_dict()) == g
    assert guards[2].to_dict() == {
        "code": "c",
        "kind": "equals",
        "field": "x",
        "value": None,
        "message": "must be empty",
    }
    assert guards[5].args == {"duration": "4wh"}


def test_guard_from_dict_errors() -> None:
    with pytest.raises(DefinitionError) as info:
        Guard.from_dict({"code": "c", "kind": "nope"}, "t.guards[3]")
    assert info.value.path == "t.guards[3].kind"
    with pytest.raises(DefinitionError) as info:
        Guard.from_dict({"kind": "present"}, "t.guards[0]")
    assert str(info.value) == "t.guards[0].code: missing"
    with pytest.raises(DefinitionError) as info:
        Guard.from_dict(["present"], "g")  # type: ignore[arg-type]
    assert str(info.value) == "g: expected an object, got list"


def test_within_refuses_a_bad_duration() -> None:
    with pytest.raises(ValueError, match="bad duration"):
        Guard.within("late", "soon")
