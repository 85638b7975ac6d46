"""Each template has a docs page whose tables and diagram match the definition."""

from __future__ import annotations

import pytest
from process_docs import DOCS, RENDERERS, render, sections

from techsvc_flow import processes


@pytest.mark.parametrize("name", sorted(processes.ALL))
def test_page_matches_the_definition(name: str) -> None:
    page = (DOCS / f"{name}.md").read_text(encoding="utf-8")
    found = sections(page)
    assert set(found) == set(RENDERERS), f"{name}.md lacks generated sections"
    assert render(page, processes.builtin(name)) == page, (
        f"docs/processes/{name}.md is stale: run python tests/process_docs.py"
    )
    assert f"processes.{name}(" in page, "the page shows how to adopt the template"
    assert "```python\n>>> " in page, "the page has a runnable example"


def test_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for name in processes.ALL:
        assert f"({name}.md)" in index


def test_each_page_ends_with_a_field_reference() -> None:
    for name in processes.ALL:
        page = (DOCS / f"{name}.md").read_text(encoding="utf-8")
        table = sections(page)["fields"]
        assert page.rstrip().endswith("<!-- end generated -->"), name  # the final section
        for field in processes.builtin(name).fields:
            assert f"| `{field}` |" in table, (name, field)
    complaint = sections((DOCS / "complaint.md").read_text(encoding="utf-8"))["fields"]
    severity = next(line for line in complaint.splitlines() if line.startswith("| `severity`"))
    assert "`low`, `medium`, `high`, `critical`" in severity and "`assess`" in severity
    contact = next(line for line in complaint.splitlines() if "`complainant_contact`" in line)
    assert contact.endswith("| yes (保密) |")
