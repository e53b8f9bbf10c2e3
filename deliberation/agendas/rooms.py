"""Socket.IO namespace and room names of the agendas feature."""

NAMESPACE = "/agendas"


def item_room(item_id: int) -> str:
    """Everyone viewing one agenda item: its live comments, reactions and moderation."""
    return f"item:{item_id}"
