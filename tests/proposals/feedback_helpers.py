"""Proposals answered and implemented through the real services, for the feedback tests."""

from deliberation.accounts.models import Division, Role, User
from deliberation.extensions import db
from deliberation.proposals import services
from deliberation.proposals.models import Proposal, ProposalState
from tests.factories import make_division, make_user


def answered_proposal(
    division: Division | None = None, official: User | None = None, title: str = "More benches"
) -> Proposal:
    """A proposal in the queue that an official reviewed and accepted in public."""
    division = division or make_division()
    official = official or make_user(Role.OFFICIAL)
    proposal = services.create_proposal(
        title=title, summary="Benches along the river.", snapshot={}, division_id=division.id
    )
    services.start_review(official, proposal)
    services.respond(official, proposal, ProposalState.ACCEPTED, "We will install 20 benches.")
    db.session.commit()
    return proposal


def implement(proposal: Proposal, official: User | None = None) -> Proposal:
    """Carry an accepted proposal through to implemented."""
    official = official or make_user(Role.OFFICIAL)
    services.post_progress(official, proposal, "Ordered.", ProposalState.IN_PROGRESS)
    services.post_progress(official, proposal, "Installed.", ProposalState.IMPLEMENTED)
    db.session.commit()
    return proposal
