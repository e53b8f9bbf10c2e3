"""Fixtures for the summaries tests: copies of real Pol.is exports to break on purpose."""

import shutil
from pathlib import Path

import pytest

from tests.summaries.polis_data import polis_data_dir

#: The smallest shared conversation (26 participants, 39 comments, 3 moderated out).
SMALL = "london.youth.policing"
#: Two clear groups, 204 participants.
TWO_GROUPS = "brexit-consensus"


@pytest.fixture
def export_copy(tmp_path):
    """Copy a shared export into a temporary folder (so a test may damage it)."""

    def copy(name: str = SMALL) -> Path:
        target = tmp_path / name
        shutil.copytree(polis_data_dir() / name, target)
        return target

    return copy
