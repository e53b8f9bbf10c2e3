"""Socket.IO namespace and room names of the voting feature."""

NAMESPACE = "/voting"


def ballot_room(ballot_id: int) -> str:
    """Everyone watching one ballot's live turnout and its close."""
    return f"ballot:{ballot_id}"
