"""URL rules of evaluation surveys: build one, answer it after the close, read the results."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from deliberation.core.errors import DomainError
from deliberation.core.forms import commit_or_flash
from deliberation.core.throttle import enforce
from deliberation.evaluations import queries, services
from deliberation.evaluations.forms import SurveyBuilderForm, answer_form_for
from deliberation.evaluations.models import LIKERT, LIKERT_LABELS, QUESTION_BANK, Survey
from deliberation.extensions import db
from deliberation.roundtables.models import RoundtableSession

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")

ANSWER_LIMIT = "30/minute"


def _locale() -> str:
    return str(get_locale() or "en")


def _target_link(survey: Survey) -> tuple[str, str]:
    """Where the survey's session or ballot lives, and its name."""
    target = services.target_of(survey)
    if isinstance(target, RoundtableSession):
        return url_for("roundtables.detail", session_id=target.id), target.title
    return url_for("voting.ballot", ballot_id=target.id), target.item.title


@bp.app_template_global("evaluation_survey_for")
def evaluation_survey_for(session_id: int | None = None, ballot_id: int | None = None):
    """Lets session and ballot pages link to their survey without importing this feature."""
    return queries.survey_for(session_id=session_id, ballot_id=ballot_id)


@bp.app_template_global("evaluation_surveys_for_division")
def evaluation_surveys_for_division(division_id: int):
    """Lets a division's accountability page list its surveys."""
    return queries.surveys_for_division(division_id)


@bp.app_template_global("evaluation_surveys_for_item")
def evaluation_surveys_for_item(item_id: int):
    """Lets an item's consensus summary list the surveys of its ballot and sessions."""
    return queries.surveys_for_item(item_id)


@bp.get("/")
def index():
    """Every evaluation survey, newest first, and the trend of each question."""
    return render_template(
        "evaluations/index.html",
        pagination=queries.surveys_page(request.args.get("page", 1, type=int)),
        bank=QUESTION_BANK,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """A session's lead (or the person who opened a ballot, or an admin) builds a survey
    from the question bank and attaches it."""
    target = services.get_target(
        request.args.get("session_id", type=int), request.args.get("ballot_id", type=int)
    )
    if not services.may_build(current_user, target):
        abort(403)
    form = SurveyBuilderForm()
    status = 200
    if form.validate_on_submit():
        try:
            survey = services.create_survey(
                current_user,
                target,
                title=form.title.data,
                question_keys=form.questions.data,
                asks_free_text=form.free_text.data,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = error.status_code
        else:
            if services.has_closed(target):
                flash(_("The survey is attached and offered to the participants now."), "success")
            else:
                flash(
                    _("The survey is attached. Participants are offered it at the close."),
                    "success",
                )
            return redirect(url_for("evaluations.show", survey_id=survey.id))
    elif request.method == "POST":
        status = 400
    is_session = isinstance(target, RoundtableSession)
    return (
        render_template(
            "evaluations/new.html",
            form=form,
            target_title=target.title if is_session else target.item.title,
            is_session=is_session,
        ),
        status,
    )


def _survey_page(survey: Survey, form=None, status: int = 200):
    closed = services.is_closed(survey)
    can_answer = answered = False
    if current_user.is_authenticated:
        answered = services.has_answered(survey, current_user)
        can_answer = (
            closed
            and not answered
            and services.participant_groups(survey, current_user) is not None
        )
    target_url, target_title = _target_link(survey)
    return (
        render_template(
            "evaluations/survey.html",
            survey=survey,
            form=form or (answer_form_for(survey) if can_answer else None),
            closed=closed,
            can_answer=can_answer,
            answered=answered,
            target_url=target_url,
            target_title=target_title,
        ),
        status,
    )


@bp.get("/<int:survey_id>")
def show(survey_id: int):
    """A survey: participants answer it here once the session or ballot has closed."""
    return _survey_page(services.get_survey(survey_id))


@bp.post("/<int:survey_id>/answer")
@login_required
def answer(survey_id: int):
    """A participant answers the survey, once and anonymously."""
    survey = services.get_survey(survey_id)
    form = answer_form_for(survey)
    if not form.validate_on_submit():
        return _survey_page(survey, form, status=400)
    ratings = {key: form[f"q_{key}"].data for key in survey.question_keys}
    free_text = form.free_text.data if survey.asks_free_text else ""

    def answer() -> None:
        enforce("survey-answer", current_user.id, ANSWER_LIMIT)
        services.answer_survey(current_user, survey, ratings, free_text or "")

    _done, refused = commit_or_flash(answer)
    if refused:
        return _survey_page(survey, form, status=refused.status_code)
    flash(_("Thank you. Your answers are counted without your name."), "success")
    return redirect(url_for("evaluations.results", survey_id=survey.id))


@bp.get("/<int:survey_id>/results")
def results(survey_id: int):
    """A survey's results by member category and division, under the small-group rule."""
    survey = services.get_survey(survey_id)
    target_url, target_title = _target_link(survey)
    return render_template(
        "evaluations/results.html",
        survey=survey,
        results=queries.survey_results(survey),
        divisions=queries.division_names(_locale()),
        likert=LIKERT,
        likert_labels={value: str(label) for value, label in LIKERT_LABELS.items()},
        target_url=target_url,
        target_title=target_title,
    )


@bp.get("/<int:survey_id>/results.json")
def results_json(survey_id: int):
    """A survey's results as JSON (counts only)."""
    return jsonify(queries.survey_results(services.get_survey(survey_id)))


@bp.get("/<int:survey_id>/results.csv")
def results_csv(survey_id: int):
    """A survey's results as CSV (counts only)."""
    survey = services.get_survey(survey_id)
    return Response(
        queries.results_csv(queries.survey_results(survey)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey.id}.csv"'},
    )


@bp.get("/trend")
def trend():
    """How the answers to one question changed over the surveys that asked it."""
    key = request.args.get("question", "overall")
    if key not in QUESTION_BANK:
        abort(404)
    points = queries.question_trend(key)
    if request.args.get("format") == "json":
        return jsonify({"question": key, "surveys": points})
    return render_template(
        "evaluations/trend.html",
        key=key,
        label=str(QUESTION_BANK[key]),
        points=points,
        bank=QUESTION_BANK,
        likert=LIKERT,
    )
