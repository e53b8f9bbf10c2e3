"""Socket.IO namespace and room names of the proposals feature."""

NAMESPACE = "/proposals"


def proposal_room(proposal_id: int) -> str:
    """Everyone watching one proposal's timeline (notifications go to core's user rooms)."""
    return f"proposal:{proposal_id}"
