"""The eight tasks of the call-center contract (seed 000, 別紙「委託の内容」1–8)
are each someone's work in the system (issue 25).

docs/calls.md, "The eight tasks of the contract", names for each task the
permissions that carry it; this test reads that table and checks each
permission against the matrix (the report the matrix page shows), so the
table cannot claim a task the system does not grant."""
import pathlib
import re

from intranet.models.users import Role
from intranet.security import report
from intranet.security.permissions import Permission

DOC = pathlib.Path(__file__).parents[2] / "docs" / "calls.md"

#: The seed's task list, as written (委託の内容).
SEED_TASKS = {
    1: "納付案内計画の立案",
    2: "架電し、納付案内を行う",
    3: "応答内容のシステムへの入力",
    4: "納付相談等の必要な者を区職員に引き継ぐ",
    5: "電話番号不明者に対する催告書の出力・封入封緘",
    6: "外部からの電話応対",
    7: "オペレータ研修計画の策定及び実施",
    8: "日報、月報等の作成",
}

#: For each task, the call center's part: at least one permission the
#: operators (or their leader) hold; the ward's part, where it has one.
CONTRACTOR_PART = {1: "calls:drafts:write", 2: "calls:queue:work", 3: "calls:target:record",
                   4: "calls:target:record", 5: "letters:batch:seal", 6: "calls:incoming:record",
                   7: "training:plans:manage", 8: "calls:reports:team"}
WARD_PART = {1: "calls:drafts:review", 4: "calls:handovers:resolve"}


def _doc_rows() -> dict[int, tuple[str, list[str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The eight tasks of the contract (委託の内容)", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            rows[int(cells[0])] = (cells[1], re.findall(r"`([a-z_]+:[a-z_]+:[a-z_]+)`", cells[3]))
    return rows


def _holders(matrix_report, permission: str) -> dict[Role, str]:
    [row] = [r for r in matrix_report.actions if r.detail == permission]
    return {role: condition for role, condition in row.cells.items() if condition}


def test_the_docs_table_lists_the_eight_tasks_of_the_seed():
    rows = _doc_rows()
    assert sorted(rows) == list(range(1, 9))
    for number, (task, permissions) in rows.items():
        assert task == SEED_TASKS[number]
        assert permissions, f"task {number} names no permission"
        for name in permissions:
            Permission(name)   # a real permission


def test_every_task_is_granted_to_the_call_center_by_the_matrix():
    matrix_report = report.build()
    rows = _doc_rows()
    for number, permission in CONTRACTOR_PART.items():
        assert permission in rows[number][1]
        assert Role.operator in _holders(matrix_report, permission), (number, permission)
    for number, permission in WARD_PART.items():
        assert permission in rows[number][1]
        assert Role.collector in _holders(matrix_report, permission), (number, permission)


def test_every_permission_the_table_names_is_held_by_someone():
    matrix_report = report.build()
    for number, (_, permissions) in _doc_rows().items():
        for name in permissions:
            assert _holders(matrix_report, name), (number, name)


def test_planning_and_training_are_the_leaders_not_every_operators():
    """Tasks 1 and 7 belong to the 責任者: the matrix grants them under the
    team-leader condition, never to every operator."""
    matrix_report = report.build()
    for permission in ("calls:drafts:write", "training:plans:manage", "calls:reports:team"):
        assert _holders(matrix_report, permission)[Role.operator] != report.ALWAYS, permission
