"""Socket.IO namespace of the voting feature."""

from flask_socketio import SocketIO


def register_namespaces(socketio: SocketIO) -> None:
    """Attach this feature's namespace (none yet)."""
