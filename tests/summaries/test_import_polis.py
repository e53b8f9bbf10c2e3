"""`flask import-polis`: a real export becomes an item; bad exports import nothing."""

import csv

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.agendas.models import AgendaItem, Comment, Reaction
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.summaries.models import ImportedParticipant, PolisImport
from deliberation.summaries.queries import cached_summary
from tests.summaries.conftest import SMALL
from tests.summaries.polis_data import polis_data_dir


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (AgendaItem, Comment, Reaction, User, PolisImport, AuditEntry)
    }


def import_folder(runner, folder):
    return runner.invoke(args=["import-polis", str(folder)])


def test_import_creates_item_with_anonymous_participants(app, runner):
    folder = polis_data_dir() / SMALL
    result = import_folder(runner, folder)
    assert result.exit_code == 0, result.output
    item_id = int(result.stdout.strip().splitlines()[-1])
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert item.title.startswith("What is the best way to engage more young people")
        assert (
            "CC BY 4.0" in item.attribution
            and "Computational Democracy Project" in item.attribution
        )
        assert "https://pol.is/9xxwa9jpkm" in item.attribution
        comments = db.session.scalars(select(Comment).where(Comment.item_id == item_id)).all()
        with open(folder / "comments.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(comments) == len(rows)
        hidden = [c for c in comments if c.is_hidden]
        assert len(hidden) == sum(r["moderated"] == "-1" for r in rows) == 3
        # Reactions: one per (voter, comment), the latest vote.
        votes = {}
        with open(folder / "votes.csv", newline="") as handle:
            for row in sorted(csv.DictReader(handle), key=lambda r: int(r["timestamp"])):
                votes[(row["voter-id"], row["comment-id"])] = row["vote"]
        assert db.session.scalar(
            select(func.count(Reaction.id)).where(Reaction.item_id == item_id)
        ) == len(votes)
        assert sum(c.agree_count + c.disagree_count + c.pass_count for c in comments) == len(votes)
        imported_users = db.session.scalars(
            select(User).join(ImportedParticipant, ImportedParticipant.user_id == User.id)
        ).all()
        assert imported_users and not any(u.is_active_account for u in imported_users)
        assert all(u.password_hash.startswith("!") for u in imported_users)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == str(item_id)))
        assert entry is not None and entry.action == "summaries.import_polis"


def test_reimport_changes_nothing(app, runner):
    folder = polis_data_dir() / SMALL
    first = import_folder(runner, folder)
    with app.app_context():
        before = counts()
    second = import_folder(runner, folder)
    assert second.exit_code == 0, second.output
    assert first.stdout.strip().splitlines()[-1] == second.stdout.strip().splitlines()[-1]
    assert "nothing changed" in second.output
    with app.app_context():
        assert counts() == before


def test_matrix_is_read_when_votes_csv_is_missing(app, runner, export_copy):
    folder = export_copy()
    (folder / "votes.csv").unlink()
    result = import_folder(runner, folder)
    assert result.exit_code == 0, result.output
    item_id = int(result.stdout.strip().splitlines()[-1])
    with open(folder / "participants-votes.csv", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        first_comment = header.index("n-disagree") + 1
        cells = sum(1 for row in reader for cell in row[first_comment:] if cell.strip())
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Reaction.id)).where(Reaction.item_id == item_id))
            == cells
        )


def _replace_line(path, line_number, text):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line_number - 1] = text
    path.write_text("".join(lines), encoding="utf-8")


def _append(path, text):
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2].rsplit(b",", 1)[0])


BAD_INPUTS = {
    "missing comments.csv": (lambda f: (f / "comments.csv").unlink(), "comments.csv", None),
    "missing votes and matrix": (
        lambda f: ((f / "votes.csv").unlink(), (f / "participants-votes.csv").unlink()),
        "votes.csv",
        None,
    ),
    "wrong header": (
        lambda f: _replace_line(f / "votes.csv", 1, "when,comment,voter,vote,x\n"),
        "votes.csv",
        1,
    ),
    "non-numeric vote": (
        lambda f: _replace_line(f / "votes.csv", 5, "1658933844092,Wed,1,2,agree\n"),
        "votes.csv",
        5,
    ),
    "unknown comment id": (
        lambda f: _replace_line(f / "votes.csv", 6, "1658933844092,Wed,999,2,1\n"),
        "votes.csv",
        6,
    ),
    "duplicate comment row": (
        lambda f: _append(f / "comments.csv", "1658934589213,Wed,35,23,2,1,1,Again\n"),
        "comments.csv",
        None,
    ),
    "truncated file": (lambda f: _truncate(f / "votes.csv"), "votes.csv", None),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_names_file_and_line_and_imports_nothing(app, runner, export_copy, case):
    damage, file_name, line = BAD_INPUTS[case]
    folder = export_copy()
    damage(folder)
    with app.app_context():
        before = counts()
    result = import_folder(runner, folder)
    assert result.exit_code != 0
    assert "Nothing imported" in result.output and file_name in result.output
    if line is not None:
        assert f"line {line}" in result.output
    elif case != "missing comments.csv" and case != "missing votes and matrix":
        assert "line " in result.output
    with app.app_context():
        assert counts() == before


def test_import_computes_the_summary_so_the_first_page_view_is_cached(app, runner, client):
    result = import_folder(runner, polis_data_dir() / SMALL)
    item_id = int(result.stdout.strip().splitlines()[-1])
    with app.app_context():
        document, cache, fresh = cached_summary(item_id)
        assert fresh and document["item"]["id"] == item_id
        stamp = cache.computed_at
    assert client.get(f"/summaries/items/{item_id}").status_code == 200
    with app.app_context():
        assert cached_summary(item_id)[1].computed_at == stamp
