"""docs/standards.md indexes every clause the templates cite, and every cited section
exists in the seed texts (the standards the templates follow)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from techsvc_flow import processes
from techsvc_flow.processes import standards
from techsvc_flow.processes.standards import TIE, TSO

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path("/work/shared/seeds")
CN = "一二三四五六七八九十"


def sources() -> Iterator[tuple[str, str]]:
    """Every source text a template gives: states, transitions, SLAs, guards, limits."""
    for name, template in processes.TEMPLATES.items():
        p = template.build()
        texts = [s.source for s in p.states] + [t.source_clause for t in p.transitions]
        texts += [s.source for s in p.slas] + [g.source for g in template.guards.values()]
        texts += [limit.source for limit in template.limits.values()]
        yield from ((name, text) for text in texts if text)
    for term in (*standards.ROLES, *standards.SURVEY_ITEMS):  # the clauses they relate to
        yield term.code, term.source


def cited(text: str) -> set[str]:
    """The clauses ``text`` cites, as ``"003 6.3.4 f)"`` or ``"002 三(二)2"``."""
    out: set[str] = set()
    for part in re.split(rf"(?={re.escape(TIE)}|{re.escape(TSO)})", text):
        if part.startswith(TIE):
            body = re.split(r"《|GB/T", part[len(TIE) :])[0]
            inferred = re.match(r"§6「(签订合同|档案管理)」\((6\.[25]), number inferred\)", body)
            if inferred:
                number = inferred.group(2)
                out.add(f"003 {number}")
                letters = re.findall(r"(?<![a-z])([a-j])\)", body[inferred.end() :])
                out |= {f"003 {number} {letter})" for letter in letters}
                continue
            current = None
            for token in re.findall(
                r"\d+(?:\.\d+)+|§\d+|(?<![a-z])[a-j]\)", re.sub(r"「[^」]*」", "", body)
            ):
                if token[0] in "§0123456789":
                    current = token.lstrip("§")
                    out.add(f"003 {current}")
                elif current is not None:
                    out.add(f"003 {current} {token}")
        elif part.startswith(TSO):
            body = re.split(r"《|GB/T|;", re.sub(r"「[^」]*」", "", part[len(TSO) :]))[0]
            out |= {f"002 {t}" for t in re.findall(rf"[{CN}]\([{CN}]\)\d*", body)}
    return out


def seed(number: str) -> str:
    (path,) = SEEDS.glob(f"{number}_*.txt")
    return path.read_text(encoding="utf-8")


def exists(clause: str) -> bool:
    """Whether the section ``clause`` names is in its seed text."""
    doc, _, ref = clause.partition(" ")
    text = seed(doc)
    if doc == "003":
        number, _, letter = ref.partition(" ")
        headings = {
            "4.3": "服务场所",
            "6.1": "委托与受理",
            "6.2": "签订合同",
            "6.5": "档案管理",
        }  # second-level headings are printed without their (inferred) numbers
        heading = headings.get(number, number if "." in number else f"{number} ")
        at = text.find(f"\n{heading}") if heading[0].isdigit() else text.find(heading)
        if at < 0:
            return False
        if not letter:
            return True
        following = re.search(r"\n\d+(\.\d+)* ?\S", text[at + 1 :])
        section = text[at : at + 1 + following.start()] if following else text[at:]
        return f"\n{letter}" in section
    m = re.fullmatch(rf"([{CN}])(?:[(（]([{CN}])[)）](\d*))?", ref)
    if m is None:
        return False
    top, sub, item = m.groups()
    body = "\n一、" + text.rsplit("\n一、", 1)[-1]  # after any table of contents
    at = body.find(f"{top}、")
    if at < 0:
        return False
    nxt = re.search(rf"\n[{CN}]、", body[at + 2 :])
    section = body[at : at + 2 + nxt.start()] if nxt else body[at:]
    if sub is None:
        return True
    at = section.find(f"（{sub}）")
    if at < 0:
        return False
    nxt = re.search(rf"\n（[{CN}]）", section[at + 3 :])
    section = section[at : at + 3 + nxt.start()] if nxt else section[at:]
    return not item or re.search(rf"\n{item}[.．]", section) is not None


def indexed() -> set[str]:
    page = (ROOT / "docs" / "standards.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(\d{3} [^`]+)` \|", page, re.MULTILINE))


def test_every_cited_clause_is_indexed() -> None:
    missing = {c: name for name, text in sources() for c in cited(text)}.keys() - indexed()
    assert not missing, f"docs/standards.md lacks {sorted(missing)}"


pytestmark = pytest.mark.skipif(not SEEDS.exists(), reason="the seed texts are not here")


def test_every_cited_and_indexed_section_exists_in_the_seeds() -> None:
    clauses = indexed() | {c for _, text in sources() for c in cited(text)}
    assert len(clauses) > 40
    assert sorted(c for c in clauses if not exists(c)) == []


def test_the_checker_refuses_sections_that_do_not_exist() -> None:
    # 「明确服务响应时限」 is 二(二)5; 三(二) has only 1–3 (issue 15 item 14)
    assert exists("002 二(二)5") and not exists("002 三(二)5")
    assert exists("003 6.3.4 f)") and not exists("003 6.3.4 g)")
    assert exists("003 6.2 j)") and not exists("003 6.2 k)") and not exists("003 6.3.5")
    assert cited(f"{TIE}6.3.4 f)「供服务对象选择」; {TSO} 三(二)2") == {
        "003 6.3.4",
        "003 6.3.4 f)",
        "002 三(二)2",
    }


def test_roles_and_survey_items_are_labelled_ours() -> None:
    """No clause defines the roles or the survey's items: they say so (issue 15 item 14)."""
    from techsvc_flow.processes.standards import ROLES, SURVEY_ITEMS

    for term in (*ROLES, *SURVEY_ITEMS):
        assert term.source.startswith("ours"), term
        related = term.source.partition("related clause: ")[2]
        assert related == "" or any(code in related for code in ("《", "编制说明")), term
