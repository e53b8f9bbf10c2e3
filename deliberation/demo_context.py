"""What the demo seed of one feature hands to the next: the people and divisions created."""

from dataclasses import dataclass, field

from deliberation.accounts.models import Division, User


@dataclass
class DemoContext:
    #: Demo accounts by their short handle: "admin", "facilitator", "official", "citizen", ...
    users: dict[str, User] = field(default_factory=dict)
    #: Extra citizens for crowds (roundtables, ballots).
    crowd: list[User] = field(default_factory=list)
    divisions: dict[str, Division] = field(default_factory=dict)
    #: Whatever a feature wants to hand on (e.g. "items": [...]).
    extras: dict[str, object] = field(default_factory=dict)
