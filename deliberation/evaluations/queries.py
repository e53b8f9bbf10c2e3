"""Reads about evaluation surveys: results by member category and division under the
small-group rule, the trend of one question over surveys, and the CSV export.

Every figure is a count over anonymous responses; nothing here reads who answered except
`respondent_count` (how many). How people answered is shown only when `shows_answers` says
enough did: every page, export and list below goes through it.
"""

import csv
import io
from typing import Any

from sqlalchemy import func, select

from deliberation.accounts.models import Division, MemberCategory
from deliberation.agendas.models import AgendaItem
from deliberation.core.small_groups import MIN_GROUP, fold_small_groups
from deliberation.evaluations.models import (
    LIKERT,
    QUESTION_BANK,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRespondent,
    SurveyResponse,
    question_label,
)
from deliberation.extensions import db
from deliberation.roundtables.models import Participant, RoundtableSession, session_agenda_items
from deliberation.voting.models import Ballot, Vote

CATEGORY_ORDER = [category.value for category in MemberCategory]
#: The group key for responses from people in no division.
NO_DIVISION = "none"


def surveys_page(page: int = 1, per_page: int = 20):
    """Every survey, newest first, paginated."""
    query = select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def survey_for(*, session_id: int | None = None, ballot_id: int | None = None) -> Survey | None:
    """The survey attached to a session or a ballot, if any."""
    if session_id is not None:
        return db.session.scalar(select(Survey).where(Survey.session_id == session_id))
    if ballot_id is not None:
        return db.session.scalar(select(Survey).where(Survey.ballot_id == ballot_id))
    return None


def response_count(survey_id: int) -> int:
    return db.session.scalar(select(func.count()).where(SurveyResponse.survey_id == survey_id))


def _empty() -> dict[str, int]:
    return {str(value): 0 for value in LIKERT}


def _mean(counts: dict[str, int]) -> float | None:
    n = sum(counts.values())
    return round(sum(int(k) * v for k, v in counts.items()) / n, 2) if n else None


def shows_answers(answered: int) -> bool:
    """The small-group rule for a survey's answers as a whole: how people answered (the
    counts, the mean, the written answers) is shown only once at least MIN_GROUP have
    answered. Below that, only how many answered: whoever knows who answered would otherwise
    read their answers (with one respondent, exactly theirs)."""
    return answered >= MIN_GROUP


def published(counts: dict[str, int]) -> tuple[dict[str, int] | None, float | None]:
    """The counts of one question and their mean as they may be published: both None when
    fewer than the minimum answered it (`shows_answers`)."""
    if not shows_answers(sum(counts.values())):
        return None, None
    return counts, _mean(counts)


def _folded(rows: list[tuple[str, str, int, int]], key: str, order: list[str]):
    """Counts by group for one question, small groups added up (core/small_groups.py).

    A group's size is its number of respondents to the survey, not to this question, so a
    question skipped by some cannot make a small group's answers show."""
    by_group: dict[str, dict[str, int]] = {}
    for question, group, value, n in rows:
        if question == key:
            by_group.setdefault(group, _empty())[str(value)] += n
    return by_group


def survey_results(survey: Survey) -> dict[str, Any]:
    """Counts of each rating per question, overall and by member category and by division
    (groups under the small-group minimum combined), the mean, and the free-text answers
    when enough people answered that none stands out. A question answered by fewer than the
    minimum (and so every question while fewer answered the survey) shows only how many
    answered it: `shows_answers`."""
    respondents = response_count(survey.id)
    base = (
        select(SurveyAnswer.question_key, SurveyAnswer.value, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)
    )
    category_rows = [
        (q, c.value, v, n)
        for q, c, v, n in db.session.execute(
            select(
                SurveyAnswer.question_key,
                SurveyResponse.member_category,
                SurveyAnswer.value,
                func.count(),
            )
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(SurveyResponse.survey_id == survey.id)
            .group_by(SurveyAnswer.question_key, SurveyResponse.member_category, SurveyAnswer.value)
        )
    ]
    division_rows = [
        (q, str(d) if d is not None else NO_DIVISION, v, n)
        for q, d, v, n in db.session.execute(
            select(
                SurveyAnswer.question_key,
                SurveyResponse.division_id,
                SurveyAnswer.value,
                func.count(),
            )
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(SurveyResponse.survey_id == survey.id)
            .group_by(SurveyAnswer.question_key, SurveyResponse.division_id, SurveyAnswer.value)
        )
    ]
    category_sizes = {
        c.value: n
        for c, n in db.session.execute(
            select(SurveyResponse.member_category, func.count())
            .where(SurveyResponse.survey_id == survey.id)
            .group_by(SurveyResponse.member_category)
        )
    }
    division_sizes = {
        (str(d) if d is not None else NO_DIVISION): n
        for d, n in db.session.execute(
            select(SurveyResponse.division_id, func.count())
            .where(SurveyResponse.survey_id == survey.id)
            .group_by(SurveyResponse.division_id)
        )
    }
    overall_rows = db.session.execute(
        base.group_by(SurveyAnswer.question_key, SurveyAnswer.value)
    ).all()
    division_order = [str(d) for d in sorted(int(k) for k in division_sizes if k != NO_DIVISION)]
    questions = []
    for key in survey.question_keys:
        counts = _empty()
        for question, value, n in overall_rows:
            if question == key:
                counts[str(value)] += n
        shown_counts, mean = published(counts)
        question = {
            "key": key,
            "label": question_label(key),
            "answered": sum(counts.values()),
            "shown": shown_counts is not None,
            "counts": shown_counts,
            "mean": mean,
            "by_category": {},
            "category_note": None,
            "by_division": {},
            "division_note": None,
        }
        if shown_counts is not None:
            by_category, question["category_note"] = fold_small_groups(
                _folded(category_rows, key, CATEGORY_ORDER), category_sizes, order=CATEGORY_ORDER
            )
            by_division, question["division_note"] = fold_small_groups(
                _folded(division_rows, key, division_order),
                division_sizes,
                order=[*division_order, NO_DIVISION],
            )
            question["by_category"] = {
                g: {"counts": c, "mean": _mean(c)} for g, c in by_category.items()
            }
            question["by_division"] = {
                g: {"counts": c, "mean": _mean(c)} for g, c in by_division.items()
            }
        questions.append(question)
    free_texts: list[str] = []
    free_text_withheld = False
    if survey.asks_free_text:
        texts = db.session.scalars(
            select(SurveyResponse.free_text).where(
                SurveyResponse.survey_id == survey.id, SurveyResponse.free_text != ""
            )
        ).all()
        if shows_answers(respondents):
            free_texts = sorted(texts)  # sorted: no order to match with who answered when
        else:
            free_text_withheld = bool(texts)
    return {
        "survey": {
            "id": survey.id,
            "title": survey.title,
            "session_id": survey.session_id,
            "ballot_id": survey.ballot_id,
            "created_at": survey.created_at.isoformat(),
        },
        "respondents": respondents,
        "minimum": MIN_GROUP,
        "answers_shown": shows_answers(respondents),
        "questions": questions,
        "free_text": free_texts,
        "free_text_withheld": free_text_withheld,
    }


def division_names(locale: str) -> dict[str, str]:
    """Division ids (as group keys) to names, for result tables."""
    return {str(d.id): d.name_for(locale) for d in db.session.scalars(select(Division))}


def question_trend(key: str, limit: int = 50) -> list[dict[str, Any]]:
    """The same question over the surveys that asked it, oldest first: how many answered,
    the counts and the mean. Surveys answered by fewer than the small-group minimum show
    only how many answered (`shows_answers`)."""
    if key not in QUESTION_BANK:
        return []
    surveys = db.session.scalars(
        select(Survey)
        .join(SurveyQuestion, SurveyQuestion.survey_id == Survey.id)
        .where(SurveyQuestion.key == key)
        .order_by(Survey.created_at.desc(), Survey.id.desc())
        .limit(limit)
    ).all()
    rows = db.session.execute(
        select(SurveyResponse.survey_id, SurveyAnswer.value, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(
            SurveyAnswer.question_key == key,
            SurveyResponse.survey_id.in_([s.id for s in surveys]),
        )
        .group_by(SurveyResponse.survey_id, SurveyAnswer.value)
    ).all()
    trend = []
    for survey in reversed(surveys):
        counts = _empty()
        for survey_id, value, n in rows:
            if survey_id == survey.id:
                counts[str(value)] += n
        shown_counts, mean = published(counts)
        trend.append(
            {
                "survey_id": survey.id,
                "title": survey.title,
                "created_at": survey.created_at.isoformat(),
                "answered": sum(counts.values()),
                "counts": shown_counts,
                "mean": mean,
            }
        )
    return trend


def results_csv(results: dict[str, Any]) -> str:
    """Survey results as CSV: one row per question and group (all, category, division), with
    how many answered; a question too few answered has its "all" row without counts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["question", "group_kind", "group", "answered", *[str(v) for v in LIKERT], "mean"]
    )
    for question in results["questions"]:
        if not question["shown"]:
            writer.writerow(
                [question["key"], "all", "all", question["answered"], *[""] * len(LIKERT), ""]
            )
            continue
        rows = [("all", "all", {"counts": question["counts"], "mean": question["mean"]})]
        rows += [("category", g, r) for g, r in question["by_category"].items()]
        rows += [("division", g, r) for g, r in question["by_division"].items()]
        for kind, group, row in rows:
            writer.writerow(
                [
                    question["key"],
                    kind,
                    group,
                    sum(row["counts"].values()),
                    *[row["counts"][str(v)] for v in LIKERT],
                    "" if row["mean"] is None else row["mean"],
                ]
            )
    return out.getvalue()


def _listed(surveys: list[Survey]) -> list[dict[str, Any]]:
    """Surveys with how many answered and the mean "overall" rating (when enough answered)."""
    ids = [s.id for s in surveys]
    answered = dict(
        db.session.execute(
            select(SurveyResponse.survey_id, func.count())
            .where(SurveyResponse.survey_id.in_(ids))
            .group_by(SurveyResponse.survey_id)
        ).all()
    )
    overall: dict[int, dict[str, int]] = {}
    for survey_id, value, n in db.session.execute(
        select(SurveyResponse.survey_id, SurveyAnswer.value, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id.in_(ids), SurveyAnswer.question_key == "overall")
        .group_by(SurveyResponse.survey_id, SurveyAnswer.value)
    ):
        overall.setdefault(survey_id, _empty())[str(value)] += n
    listed = []
    for survey in surveys:
        _counts, overall_mean = published(overall.get(survey.id, _empty()))
        listed.append(
            {
                "survey": survey,
                "respondents": answered.get(survey.id, 0),
                "overall_mean": overall_mean,
            }
        )
    return listed


def surveys_for_division(division_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The latest surveys of the division's sessions and ballots, for its accountability page."""
    session_ids = select(RoundtableSession.id).where(RoundtableSession.division_id == division_id)
    ballot_ids = (
        select(Ballot.id)
        .join(AgendaItem, AgendaItem.id == Ballot.item_id)
        .where(AgendaItem.division_id == division_id)
    )
    surveys = db.session.scalars(
        select(Survey)
        .where(Survey.session_id.in_(session_ids) | Survey.ballot_id.in_(ballot_ids))
        .order_by(Survey.created_at.desc(), Survey.id.desc())
        .limit(limit)
    ).all()
    return _listed(list(surveys))


def surveys_for_item(item_id: int) -> list[dict[str, Any]]:
    """Surveys of the item's ballot and of the sessions that discussed it, for its summary."""
    session_ids = select(session_agenda_items.c.session_id).where(
        session_agenda_items.c.agenda_item_id == item_id
    )
    ballot_ids = select(Ballot.id).where(Ballot.item_id == item_id)
    surveys = db.session.scalars(
        select(Survey)
        .where(Survey.session_id.in_(session_ids) | Survey.ballot_id.in_(ballot_ids))
        .order_by(Survey.created_at.desc(), Survey.id.desc())
    ).all()
    return _listed(list(surveys))


def participants_to_invite(survey: Survey) -> list[int]:
    """Who should be offered the survey (by notification or mail at the close): the
    session's participants or the ballot's voters who have not answered yet."""
    if survey.session_id is not None:
        # paper participants (no login) cannot be offered a survey online
        people = select(Participant.user_id).where(
            Participant.session_id == survey.session_id, Participant.user_id.is_not(None)
        )
    else:
        people = select(Vote.voter_id).where(Vote.ballot_id == survey.ballot_id)
    answered = select(SurveyRespondent.user_id).where(SurveyRespondent.survey_id == survey.id)
    return sorted(db.session.scalars(people.except_(answered)))
