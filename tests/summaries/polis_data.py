"""Where the shared Pol.is open data lives, from the main checkout or a worktree."""

from pathlib import Path

from tests.conftest import PROJECT_ROOT

CANDIDATES = (
    PROJECT_ROOT.parent / "shared" / "data" / "polis",
    Path("/work/shared/data/polis"),
)


def polis_data_dir() -> Path:
    for candidate in CANDIDATES:
        if (candidate / "README.md").exists():
            return candidate
    raise FileNotFoundError(f"Pol.is open data not found in {', '.join(map(str, CANDIDATES))}")


#: Conversations that must agree with Pol.is (groups and ARI >= 0.75).
ASSERTED = (
    "15-per-hour-seattle",
    "brexit-consensus",
    "canadian-electoral-reform",
    "scoop-hivemind.biodiversity",
)
#: Reported only: an early export that placed single-vote participants; a 24-person room.
REPORTED = ("football-concussions", "london.youth.policing")
