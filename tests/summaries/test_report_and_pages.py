"""`flask consensus-report` and the summary pages: formats, pseudonymity, states, cache."""

import csv
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.agendas import services as agenda_services
from deliberation.extensions import db
from deliberation.summaries import queries, services
from deliberation.summaries.models import ImportedParticipant, SummaryCache
from tests.agendas.helpers import make_item, post
from tests.factories import make_user
from tests.summaries.conftest import TWO_GROUPS
from tests.summaries.polis_data import polis_data_dir


@pytest.fixture
def imported_item(app, runner):
    result = runner.invoke(args=["import-polis", str(polis_data_dir() / TWO_GROUPS)])
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip().splitlines()[-1])


def report(runner, item_id, fmt):
    result = runner.invoke(args=["consensus-report", str(item_id), "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_report_of_an_import_uses_polis_participant_ids(app, runner, imported_item):
    document = json.loads(report(runner, imported_item, "json"))
    assert document["status"] == "ok"
    assert [g["group"] for g in document["groups"]] == ["A", "B"]
    assert sum(g["size"] for g in document["groups"]) == len(document["participants"]) == 189
    with app.app_context():
        polis_ids = set(db.session.scalars(select(ImportedParticipant.polis_participant_id)).all())
        users = db.session.scalars(select(User)).all()
    assert {p["id"] for p in document["participants"]} <= polis_ids
    assert all(
        isinstance(p["id"], int) and p["group"] in ("A", "B") for p in document["participants"]
    )
    text = json.dumps(document)
    assert "@" not in text.replace("@media", "")
    assert "Pol.is participant" not in text
    assert not any(u.email in text for u in users)
    assert document["consensus"]["agree"] and document["divisive"]
    assert all(c["polis_comment_id"] is not None for c in document["comments"])


def test_csv_report_has_one_row_per_comment_and_group_columns(runner, imported_item):
    rows = list(csv.reader(io.StringIO(report(runner, imported_item, "csv"))))
    header = rows[0]
    assert header[:6] == ["comment_id", "polis_comment_id", "text", "agree", "disagree", "pass"]
    assert "group_A_agree" in header and "group_B_seen" in header
    assert len(rows) - 1 == 50
    assert any(row[header.index("divisive")] for row in rows[1:])


def test_report_of_unknown_item(runner):
    result = runner.invoke(args=["consensus-report", "999"])
    assert result.exit_code != 0 and "no agenda item 999" in result.output


def native_item_with_reactions(app, people: int = 0):
    """An item with 3 comments; returns (item id, list of user ids that reacted)."""
    with app.app_context():
        author = make_user()
        item = make_item(author)
        comments = [post(author, item, f"Statement {n}") for n in range(3)]
        reactors = []
        for n in range(people):
            user = make_user()
            for comment in comments:
                agenda_services.react(user, comment.id, "agree" if n % 2 else "disagree")
            db.session.commit()
            reactors.append(user.id)
        return item.id, reactors


def test_native_item_report_uses_keyed_pseudonyms(app, runner):
    item_id, reactors = native_item_with_reactions(app, people=6)
    document = json.loads(report(runner, item_id, "json"))
    ids = [p["id"] for p in document["participants"]]
    assert len(ids) == 6 and all(str(i).startswith("m-") for i in ids)
    assert not any(str(uid) == str(i) for uid in reactors for i in ids)
    assert document["status"] == "ok" and len(document["groups"]) == 2


def test_page_shows_map_groups_consensus_and_links(client, imported_item):
    response = client.get(f"/summaries/items/{imported_item}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Opinion groups", "What every group agrees on", "What divides the groups",
                 "What sets each group apart", 'id="opinion-map"', 'id="map-alternative"',
                 "CC BY 4.0", "/static/vendor/chart.umd.min.js"):  # fmt: skip
        assert text in html
    assert f"/agendas/{imported_item}/comments/" in html
    printable = client.get(f"/summaries/items/{imported_item}/print").get_data(as_text=True)
    assert 'id="map-alternative"' in printable and 'id="opinion-map"' not in printable
    data = client.get(f"/summaries/items/{imported_item}/summary.json").get_json()
    assert data["state"] == "fresh" and data["consensus"]["agree"][0]["url"].startswith("/agendas/")
    download = client.get(f"/summaries/items/{imported_item}/summary.csv")
    assert (
        download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    )


def test_page_in_korean(client, imported_item):
    html = client.get(
        f"/summaries/items/{imported_item}", headers={"Accept-Language": "ko"}
    ).get_data(as_text=True)
    assert "합의 요약" in html


@pytest.mark.parametrize("people", [0, 1])
def test_not_enough_data_states(app, client, people):
    item_id, _ = native_item_with_reactions(app, people=people)
    response = client.get(f"/summaries/items/{item_id}")
    assert response.status_code == 200
    assert "Not enough data for opinion groups" in response.get_data(as_text=True)


def test_everyone_agreeing_is_not_an_error(app, client):
    with app.app_context():
        author = make_user()
        item = make_item(author)
        comments = [post(author, item, f"Statement {n}") for n in range(3)]
        for _ in range(6):
            user = make_user()
            for comment in comments:
                agenda_services.react(user, comment.id, "agree")
            db.session.commit()
        item_id = item.id
    html = client.get(f"/summaries/items/{item_id}").get_data(as_text=True)
    assert "Not enough data for opinion groups" in html
    assert "Statement 0" in html  # still listed as common ground


def test_cache_is_recomputed_when_reactions_change(app, client):
    item_id, _ = native_item_with_reactions(app, people=6)
    client.get(f"/summaries/items/{item_id}")
    with app.app_context():
        first = db.session.scalar(select(SummaryCache).where(SummaryCache.item_id == item_id))
        stamp = first.computed_at
        assert queries.cached_summary(item_id)[2] is True
        comment_id = json.loads(first.data)["comments"][0]["comment_id"]
        agenda_services.react(make_user(), comment_id, "agree")
        db.session.commit()
        assert queries.cached_summary(item_id)[2] is False
    client.get(f"/summaries/items/{item_id}")
    with app.app_context():
        again = db.session.scalar(select(SummaryCache).where(SummaryCache.item_id == item_id))
        assert again.computed_at != stamp
        assert json.loads(again.data)["participation"]["reactions"]["agree"] == 10


def test_large_items_are_computed_by_the_periodic_job_not_the_request(app, client, monkeypatch):
    monkeypatch.setattr(queries, "INLINE_COMPUTE_LIMIT", 0)
    item_id, _ = native_item_with_reactions(app, people=6)
    html = client.get(f"/summaries/items/{item_id}").get_data(as_text=True)
    assert "being prepared" in html
    assert client.get(f"/summaries/items/{item_id}/summary.json").status_code == 202
    with app.app_context():
        assert services.refresh_stale_summaries() == [item_id]
        db.session.commit()
    data = client.get(f"/summaries/items/{item_id}/summary.json").get_json()
    assert data["state"] == "fresh" and data["status"] == "ok"


def test_unknown_item_is_404(client):
    assert client.get("/summaries/items/12345").status_code == 404


def test_the_computed_time_is_in_the_viewers_profile_zone(app, client, auth, imported_item):
    """Like every other time on the site: the profile's zone, named, not a bare UTC time."""
    with app.app_context():
        make_user(email="berlin@example.org", language="en").timezone = "Europe/Berlin"
        db.session.commit()
    auth.login("berlin@example.org")
    before = datetime.now(ZoneInfo("Europe/Berlin"))
    html = client.get(f"/summaries/items/{imported_item}").get_data(as_text=True)
    after = datetime.now(ZoneInfo("Europe/Berlin"))
    shown = re.search(r"Computed at (.+?) from the reactions", html)
    assert shown, html
    assert "UTC" not in shown.group(1)
    assert shown.group(1) in {
        f"{moment:%Y-%m-%d %H:%M} (Germany (Berlin) Time)" for moment in (before, after)
    }
