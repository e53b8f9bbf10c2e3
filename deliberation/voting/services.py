"""Every write about ballots and votes, with its rules: open, cast, close on time."""

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import Division, MemberCategory, Role, User
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.agendas.queries import discussion_statistics
from deliberation.core import audit, throttle
from deliberation.core.errors import DomainError, IllegalTransition, PermissionDenied
from deliberation.core.realtime import emit_after_commit
from deliberation.core.scheduler import periodic
from deliberation.db import as_utc, utcnow
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.proposals import services as proposals_services
from deliberation.summaries.queries import summary_snapshot
from deliberation.voting import queries
from deliberation.voting.live import turnout_changed_after_commit
from deliberation.voting.models import (
    DEFAULT_OPTION_KEYS,
    Ballot,
    BallotState,
    IdentityCheck,
    Vote,
    VoteCast,
    VoteChannel,
)
from deliberation.voting.rooms import NAMESPACE, ballot_room

#: Receipt alphabet: no 0/O, 1/I/L or U, so a code read aloud or copied by hand stays right.
RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
RECEIPT_GROUPS = 4
MAX_OPTIONS = 10
MAX_OPTION_LENGTH = 120
#: Casting is rare for a person; this only stops scripted hammering. The app config may
#: override it under the same name.
VOTE_LIMIT = "30/minute"
#: A paper ballot's printed number: letters, digits and dashes, at most this long once tidied.
SLIP_RE = re.compile(r"^[0-9A-Z][0-9A-Z-]{0,19}$")
MAX_IDENTITY_NOTE = 200


def new_receipt() -> str:
    """A random receipt code (about 78 bits), unrelated to the voter, the time or the choice."""
    number = secrets.randbelow(len(RECEIPT_ALPHABET) ** (4 * RECEIPT_GROUPS))
    chars = []
    for _position in range(4 * RECEIPT_GROUPS):
        number, digit = divmod(number, len(RECEIPT_ALPHABET))
        chars.append(RECEIPT_ALPHABET[digit])
    return "-".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4))


#: A receipt code once its spaces and dashes are gone: 16 characters of the alphabet.
RECEIPT_RE = re.compile(f"[{RECEIPT_ALPHABET}]{{{4 * RECEIPT_GROUPS}}}")


def normalise_receipt(text: str) -> str:
    """A receipt as printed (ABCD-EFGH-JKMN-PQRS), typed with spaces, lower case or without
    dashes; text that cannot be a receipt code is refused, not reshaped into one."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    if not RECEIPT_RE.fullmatch(compact):
        raise DomainError(
            _(
                "This is not a receipt code: %(text)s. A receipt code has 16 letters and "
                "digits in groups of four, like 7KQM-R2XD-9HTW-C4PN.",
                text=(text or "").strip(),
            ),
            code="bad_receipt",
        )
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def normalise_slip(text: str) -> str:
    """A paper ballot's number as stored: spaces gone, upper case, and a number without its
    leading zeros (`007` and `7` are the same printed slip, so it cannot go in twice)."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if compact.isdigit():
        compact = str(int(compact))
    if not SLIP_RE.match(compact):
        raise DomainError(
            _("Type the number printed on the paper ballot (letters, digits and dashes)."),
            code="bad_slip",
        )
    return compact


@dataclass(frozen=True)
class PaperEntry:
    """What field-office staff record with a paper ballot, besides the voter and the choice."""

    slip_number: str
    #: The staff member who checked the voter's identity and types the entry: the witness.
    checked_by: User
    identity_check: IdentityCheck | str
    identity_note: str = ""


def _checked_paper_entry(entry: PaperEntry) -> PaperEntry:
    """The entry tidied, or a refusal: only field-office staff (and admins) enter paper ballots,
    with a known check method and a note when the method is "other"."""
    if not entry.checked_by.has_role(Role.FIELD_OFFICE, Role.ADMIN):
        raise PermissionDenied(
            _("Only field-office staff can enter paper ballots."), code="not_field_office"
        )
    try:
        method = IdentityCheck(entry.identity_check)
    except ValueError:
        raise DomainError(
            _("Choose how you checked the voter's identity."), code="bad_identity_check"
        ) from None
    note = (entry.identity_note or "").strip()
    if method == IdentityCheck.OTHER and not note:
        raise DomainError(
            _("Say in the note how you checked the voter's identity."), code="identity_note"
        )
    if len(note) > MAX_IDENTITY_NOTE:
        raise DomainError(
            _("The note can be at most %(n)d characters.", n=MAX_IDENTITY_NOTE),
            code="identity_note",
        )
    return PaperEntry(normalise_slip(entry.slip_number), entry.checked_by, method, note)


@dataclass(frozen=True)
class CastResult:
    receipt: str
    #: "cast" (first vote), "changed", "unchanged" (same choice again) or "replayed" (a retry).
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"receipt": self.receipt, "status": self.status}


@functools.cache
def _cast_statements(dialect_name: str) -> tuple[Any, Any, Any, Any]:
    """The four statements of a cast, built once per database kind (compiled-cache friendly).

    claim: INSERT the request's client id, doing nothing if it exists already.
    current: the ballot's state and the person's current vote, with a share lock on the ballot.
    upsert: INSERT an online vote, or UPDATE choice and receipt if the person has voted online
    already; a paper vote is never updated (no row returned).
    paper: INSERT a paper vote, doing nothing (no row returned) if the person has voted or the
    slip is in already.
    """
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert
    # RETURNING says whether the row went in: with it implied, rowcount is -1 on PostgreSQL.
    claim = (
        insert(VoteCast).on_conflict_do_nothing(index_elements=["client_id"]).returning(VoteCast.id)
    )
    current = (
        select(Ballot.state, Vote.choice, Vote.receipt, Vote.channel)
        .outerjoin(Vote, and_(Vote.ballot_id == Ballot.id, Vote.voter_id == bindparam("voter_id")))
        .where(Ballot.id == bindparam("ballot_id"))
        .with_for_update(read=True, of=Ballot)
    )
    vote = insert(Vote)
    upsert = vote.on_conflict_do_update(
        index_elements=["ballot_id", "voter_id"],
        set_={
            "choice": vote.excluded.choice,
            "receipt": vote.excluded.receipt,
            "voter_category": vote.excluded.voter_category,
        },
        # The first vote stands: a paper ballot cannot be replaced online, even by a cast
        # that read "no vote yet" just before the paper one committed.
        where=Vote.channel == VoteChannel.ONLINE,
    ).returning(Vote.id)
    paper = insert(Vote).on_conflict_do_nothing().returning(Vote.id)
    return claim, current, upsert, paper


def _options_from(custom_options: list[str] | None) -> list[dict[str, str]]:
    if not custom_options:
        return [{"key": key, "label": ""} for key in DEFAULT_OPTION_KEYS]
    labels = [label.strip() for label in custom_options if label and label.strip()]
    if len(labels) < 2:
        raise DomainError(_("A ballot needs at least two options."), code="too_few_options")
    if len(labels) > MAX_OPTIONS:
        raise DomainError(
            _("A ballot can have at most %(n)d options.", n=MAX_OPTIONS), code="too_many_options"
        )
    if any(len(label) > MAX_OPTION_LENGTH for label in labels):
        raise DomainError(
            _("Each option can be at most %(n)d characters.", n=MAX_OPTION_LENGTH),
            code="option_too_long",
        )
    if len({label.casefold() for label in labels}) != len(labels):
        raise DomainError(_("Two options have the same text."), code="duplicate_options")
    return [{"key": f"option-{n}", "label": label} for n, label in enumerate(labels, 1)]


def open_ballot(
    actor: User,
    item: AgendaItem,
    *,
    opens_at: datetime,
    closes_at: datetime,
    custom_options: list[str] | None = None,
    division_ids: list[int] | None = None,
    quorum_percent: int = 0,
    threshold_percent: int = 50,
    results_live: bool = False,
) -> Ballot:
    """Put an item in discussion or voting to the vote, with its options, times and rules."""
    if not actor.is_facilitator:
        raise PermissionDenied(_("Only facilitators and administrators can open a ballot."))
    if item.state == ItemState.DISCUSSION:
        item.open_voting()
    elif item.state != ItemState.VOTING:
        raise IllegalTransition(
            _("Only an item in discussion or voting can be put to the vote."), code="item_state"
        )
    opens_at, closes_at = as_utc(opens_at), as_utc(closes_at)
    if closes_at <= opens_at:
        raise DomainError(_("The ballot must close after it opens."), code="bad_times")
    if closes_at <= utcnow():
        raise DomainError(_("The closing time must be in the future."), code="bad_times")
    if not 0 <= quorum_percent <= 100:
        raise DomainError(_("The quorum must be between 0 and 100 %."), code="bad_quorum")
    if not 0 <= threshold_percent <= 99:
        raise DomainError(_("The threshold must be between 0 and 99 %."), code="bad_threshold")
    divisions: list[Division] = []
    if division_ids:
        divisions = list(db.session.scalars(select(Division).where(Division.id.in_(division_ids))))
        if len(divisions) != len(set(division_ids)):
            raise DomainError(_("One of the divisions does not exist."), code="bad_division")
    if queries.ballot_for_item(item.id) is not None:
        raise DomainError(_("This item already has a ballot."), code="ballot_exists")
    ballot = Ballot(
        item=item,
        options=_options_from(custom_options),
        opens_at=opens_at,
        closes_at=closes_at,
        open_to_all=not divisions,
        divisions=divisions,
        quorum_percent=quorum_percent,
        threshold_percent=threshold_percent,
        results_live=results_live,
        created_by_id=actor.id,
        state=BallotState.OPEN if opens_at <= utcnow() else BallotState.SCHEDULED,
    )
    db.session.add(ballot)
    try:
        with db.session.begin_nested():
            db.session.flush()  # the UNIQUE item_id refuses a concurrent second ballot here
    except IntegrityError as error:
        raise DomainError(_("This item already has a ballot."), code="ballot_exists") from error
    audit.record(
        "ballot.open",
        "ballot",
        ballot.id,
        actor_id=actor.id,
        item_id=item.id,
        closes_at=closes_at.isoformat(),
    )
    return ballot


def _replay(existing: VoteCast, ballot_id: int, voter: User) -> CastResult:
    if existing.ballot_id != ballot_id or existing.voter_id != voter.id:
        raise DomainError(
            _("This request id was already used for another vote. Please reload the page."),
            code="client_id_reused",
        )
    return CastResult(existing.receipt, "replayed")


def _find_cast(client_id: str) -> VoteCast | None:
    return db.session.scalar(select(VoteCast).where(VoteCast.client_id == client_id))


def _check_can_vote(
    ballot: Ballot | None, voter: User, choice: str, *, on_paper: bool = False
) -> Ballot:
    if ballot is None:
        raise DomainError(_("There is no such ballot."), code="not_found")
    now = utcnow()
    if ballot.state == BallotState.CLOSED or now >= as_utc(ballot.closes_at):
        raise DomainError(_("Voting on this ballot has closed."), code="closed")
    if now < as_utc(ballot.opens_at):
        raise DomainError(_("Voting on this ballot has not opened yet."), code="not_open")
    if not queries.is_eligible(ballot, voter):
        raise PermissionDenied(
            _("This person is not eligible to vote on this ballot.")
            if on_paper
            else _("You are not eligible to vote on this ballot."),
            code="not_eligible",
        )
    if choice not in ballot.option_keys:
        raise DomainError(_("That is not one of the ballot's options."), code="unknown_option")
    return ballot


def _already_voted(channel: VoteChannel, paper: PaperEntry | None) -> DomainError:
    """The refusal when a person's first vote stands: which way they voted decides the words."""
    if paper is None:
        return DomainError(
            _("Your vote was entered from a paper ballot. It stands and cannot be changed online."),
            code="voted_on_paper",
        )
    if channel == VoteChannel.ONLINE:
        return DomainError(
            _(
                "This person has already voted online. Their first vote stands; this paper "
                "ballot cannot be counted."
            ),
            code="voted_online",
        )
    return DomainError(
        _(
            "A paper ballot of this person is already entered. Their first vote stands; this "
            "paper ballot cannot be counted."
        ),
        code="voted_on_paper",
    )


def cast_vote(
    ballot_id: int,
    voter: User,
    choice: str,
    client_id: str,
    *,
    paper: PaperEntry | None = None,
) -> CastResult:
    """Record or change a person's single vote; a retry with the same client id changes nothing.

    One vote per person is the UNIQUE (ballot, voter) constraint, applied by an atomic upsert;
    one answer per request is the UNIQUE client id. The caller commits, then acknowledges.
    The per-person rate limit is applied here, so the form and the socket share it.
    With `paper`, field-office staff enter the person's paper ballot: the same rules (open,
    eligible, one vote), its slip UNIQUE per ballot, and the first vote stands whichever way it
    came: a paper ballot after an online vote is refused, and so is any online change after it.
    """
    if paper is not None:
        paper = _checked_paper_entry(paper)
    throttle.enforce("vote", voter.id, current_app.config.get("VOTE_LIMIT", VOTE_LIMIT))
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise DomainError(_("The request id is missing or malformed."), code="bad_client_id")
    try:
        ballot = _check_can_vote(
            db.session.get(Ballot, ballot_id), voter, choice, on_paper=paper is not None
        )
    except DomainError:
        existing = _find_cast(client_id)  # a retry of a vote made before the close: same answer
        if existing is not None:
            return _replay(existing, ballot_id, voter)
        raise

    receipt = new_receipt()
    claim, current_vote, upsert, paper_insert = _cast_statements(db.session.get_bind().dialect.name)
    connection = db.session.connection()
    params = {"ballot_id": ballot.id, "voter_id": voter.id}
    claimed = connection.execute(claim, {**params, "client_id": client_id, "receipt": receipt})
    if claimed.first() is None:  # a retry, or the same request answered concurrently
        return _replay(_find_cast(client_id), ballot_id, voter)

    # Re-read under the write lock (SQLite) or a share lock on the ballot row (PostgreSQL):
    # a close that committed first wins, so no vote lands after the tally was frozen.
    current = connection.execute(current_vote, params).one()
    if current.state == BallotState.CLOSED:
        raise DomainError(_("Voting on this ballot has closed."), code="closed")
    if current.choice is not None and (paper is not None or current.channel == VoteChannel.PAPER):
        raise _already_voted(current.channel, paper)
    row = {
        **params,
        "choice": choice,
        "receipt": receipt,
        "voter_category": MemberCategory(voter.member_category),
    }
    if paper is not None:
        inserted = connection.execute(
            paper_insert,
            {
                **row,
                "channel": VoteChannel.PAPER,
                "slip_number": paper.slip_number,
                "checked_by_id": paper.checked_by.id,
                "identity_check": paper.identity_check,
                "identity_note": paper.identity_note or None,
            },
        ).first()
        if inserted is None:
            _refuse_paper_conflict(ballot.id, voter, paper)
        status = "cast"
        # The staff member is the witness; the entry names the voter and the slip, never the
        # choice or the receipt.
        audit.record(
            "vote.paper",
            "ballot",
            ballot.id,
            actor_id=paper.checked_by.id,
            voter_id=voter.id,
            witness_id=paper.checked_by.id,
            slip_number=paper.slip_number,
            identity_check=str(paper.identity_check),
            identity_note=paper.identity_note,
        )
    elif current.choice == choice:
        connection.execute(
            update(VoteCast).where(VoteCast.client_id == client_id).values(receipt=current.receipt)
        )
        status, receipt = "unchanged", current.receipt
    else:
        if connection.execute(upsert, row).first() is None:
            raise _already_voted(VoteChannel.PAPER, None)  # a paper ballot committed first
        status = "changed" if current.choice is not None else "cast"
    if paper is None:
        # The audit entry says that someone voted, never the choice or the receipt.
        audit.record("vote.cast", "ballot", ballot.id, actor_id=voter.id)
    if status != "unchanged":
        turnout_changed_after_commit(ballot.id)
    return CastResult(receipt, status)


def _refuse_paper_conflict(ballot_id: int, voter: User, paper: PaperEntry) -> NoReturn:
    """The paper INSERT did nothing: say whether the person voted meanwhile or the slip is in."""
    channel = db.session.scalar(
        select(Vote.channel).where(Vote.ballot_id == ballot_id, Vote.voter_id == voter.id)
    )
    if channel is not None:
        raise _already_voted(channel, paper)
    raise DomainError(
        _(
            "Paper ballot number %(slip)s has already been entered for this ballot.",
            slip=paper.slip_number,
        ),
        code="duplicate_slip",
    )


def _claim_state(ballot: Ballot, target: BallotState, **values: Any) -> None:
    """Move the ballot's state with one conditional UPDATE, so two closers cannot both win."""
    ballot.check_move(target)
    claimed = db.session.execute(
        update(Ballot)
        .where(Ballot.id == ballot.id, Ballot.state == ballot.state)
        .values(state=target, **values)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise IllegalTransition(_("Someone else changed this ballot first."), code="stale")
    db.session.refresh(ballot)


def close_ballot(ballot: Ballot, actor: User | None = None) -> Ballot:
    """Close a ballot: freeze its tally, adopt or reject the item, queue an adopted one."""
    if actor is not None and not actor.is_facilitator:
        raise PermissionDenied(_("Only facilitators and administrators can close a ballot."))
    _claim_state(ballot, BallotState.CLOSED, closed_at=utcnow())
    result = queries.tally(ballot)
    ballot.result = result
    item = ballot.item
    if result["adopted"]:
        item.adopt()
    else:
        item.reject()
    audit.record(
        "ballot.close",
        "ballot",
        ballot.id,
        actor_id=actor.id if actor else None,
        adopted=result["adopted"],
        voted=result["voted"],
        eligible=result["eligible"],
    )
    if result["adopted"]:
        proposals_services.create_proposal_from_item(
            item,
            {
                "ballot_id": ballot.id,
                "options": ballot.options,
                "tally": result,
                "discussion": discussion_statistics(item.id),
                "consensus": summary_snapshot(item.id),
            },
        )
    evaluations.invite_at_close(ballot_id=ballot.id)
    emit_after_commit(
        "closed",
        {"ballot_id": ballot.id, "adopted": result["adopted"], "turnout": queries.turnout(ballot)},
        to=ballot_room(ballot.id),
        namespace=NAMESPACE,
    )
    return ballot


def open_due_ballots() -> list[Ballot]:
    """Move scheduled ballots whose opening time has come to open."""
    opened = []
    for ballot in queries.ballots_due_to_open(utcnow()):
        try:
            _claim_state(ballot, BallotState.OPEN)
        except IllegalTransition:
            continue
        opened.append(ballot)
    return opened


def close_due_ballots() -> list[Ballot]:
    """Close every ballot whose closing time has passed (scheduler and cron)."""
    closed = []
    for ballot in queries.due_ballots(utcnow()):
        try:
            close_ballot(ballot)
        except IllegalTransition:
            continue  # another process closed it first
        closed.append(ballot)
    return closed


@periodic("voting.open_and_close_due_ballots", every_s=5)
def open_and_close_due_ballots() -> None:
    """Scheduler job: ballots open and close on time without anyone clicking."""
    open_due_ballots()
    close_due_ballots()
