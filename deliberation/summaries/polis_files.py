"""Read and validate a Pol.is open-data export folder (comments, votes, participants, summary).

Every problem is reported as a `PolisFormatError` naming the file and the line, so an import
either reads the whole export or nothing.
"""

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from deliberation.consensus.matrix import VoteMatrix

COMMENTS_FILE = "comments.csv"
VOTES_FILE = "votes.csv"
PARTICIPANTS_FILE = "participants-votes.csv"
SUMMARY_FILE = "summary.csv"

COMMENT_COLUMNS = ("timestamp", "comment-id", "author-id", "moderated", "comment-body")
VOTE_COLUMNS = ("timestamp", "comment-id", "voter-id", "vote")
#: Leading columns of participants-votes.csv; `xid` is optional; comment-id columns follow.
PARTICIPANT_COLUMNS = ("participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")
VOTE_VALUES = {"1": 1, "-1": -1, "0": 0}
MODERATED_OUT = -1

ATTRIBUTION = (
    "Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed "
    "under CC BY 4.0 with Attribution to The Computational Democracy Project. "
    "Licence: https://creativecommons.org/licenses/by/4.0/"
)


class PolisFormatError(ValueError):
    """A Pol.is export that cannot be read; says which file and line."""

    def __init__(self, file: str, line: int | None, problem: str):
        self.file, self.line, self.problem = file, line, problem
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class PolisComment:
    id: int
    author: int | None
    #: milliseconds since the epoch, as in the export.
    timestamp: int
    body: str
    #: 1 accepted, 0 unmoderated, -1 moderated out.
    moderated: int

    @property
    def moderated_out(self) -> bool:
        return self.moderated == MODERATED_OUT


@dataclass(frozen=True)
class PolisVote:
    participant: int
    comment: int
    #: 1 agree, -1 disagree, 0 pass.
    vote: int
    #: milliseconds since the epoch; None when read from the participants-votes matrix.
    timestamp: int | None


@dataclass
class PolisExport:
    """A validated export: comments, each participant's latest vote, and Pol.is' own results."""

    directory: Path
    comments: list[PolisComment]
    #: one vote per (participant, comment): the latest one.
    votes: list[PolisVote]
    #: where the votes came from: votes.csv or participants-votes.csv.
    votes_source: str
    summary: dict[str, str] = field(default_factory=dict)
    #: Pol.is' opinion group per participant (None when Pol.is did not place them).
    polis_groups: dict[int, int | None] = field(default_factory=dict)
    #: external ids (xid column) where the export has them.
    xids: dict[int, str] = field(default_factory=dict)
    #: rows of votes.csv repeated verbatim, skipped.
    skipped_duplicate_rows: int = 0
    #: SHA-256 over the export's files: the same export always has the same digest.
    digest: str = ""

    @property
    def moderated_out(self) -> set[int]:
        return {c.id for c in self.comments if c.moderated_out}

    @property
    def participants(self) -> list[int]:
        return sorted(
            {v.participant for v in self.votes}
            | {c.author for c in self.comments if c.author is not None}
        )

    @property
    def polis_group_count(self) -> int | None:
        value = self.summary.get("groups", "").strip()
        return int(value) if value.isdigit() else None

    @property
    def title(self) -> str:
        return self.summary.get("topic", "").strip() or self.directory.name

    def vote_matrix(self) -> VoteMatrix:
        """The participant × comment matrix of latest votes (every comment a column)."""
        return VoteMatrix.from_votes(
            ((v.participant, v.comment, v.vote) for v in self.votes),
            comments=[c.id for c in self.comments],
        )


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each CSV record after the header; header first at line 1."""
    name = path.name
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise PolisFormatError(name, None, f"file not found in {path.parent}") from error
    with handle:
        reader = csv.reader(handle, strict=True)
        start = 1
        try:
            for fields in reader:
                yield start, fields
                start = reader.line_num + 1
        except csv.Error as error:
            raise PolisFormatError(
                name, start, f"malformed CSV ({error}); is the file truncated?"
            ) from error
        except UnicodeDecodeError as error:
            raise PolisFormatError(name, start, "not UTF-8 text") from error


class _Table:
    """A CSV file checked against the columns it must have."""

    def __init__(self, path: Path, required: tuple[str, ...]):
        self.name = path.name
        self.records = _records(path)
        try:
            _, header = next(self.records)
        except StopIteration:
            raise PolisFormatError(self.name, 1, "the file is empty (no header line)") from None
        self.header = [h.strip() for h in header]
        missing = [c for c in required if c not in self.header]
        if missing:
            raise PolisFormatError(
                self.name,
                1,
                f"header lacks column(s) {', '.join(missing)}; found {', '.join(self.header)}",
            )
        self.index = {h: i for i, h in enumerate(self.header)}

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        for line, fields in self.records:
            if fields == [] or fields == [""]:
                continue
            if len(fields) != len(self.header):
                raise PolisFormatError(
                    self.name,
                    line,
                    f"{len(fields)} fields where the header has {len(self.header)}; "
                    "is the file truncated?",
                )
            yield line, fields

    def integer(self, fields: list[str], column: str, line: int, *, optional: bool = False):
        text = fields[self.index[column]].strip()
        if optional and text == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise PolisFormatError(
                self.name, line, f"{column} {text!r} is not a whole number"
            ) from None


def _read_comments(directory: Path) -> list[PolisComment]:
    table = _Table(directory / COMMENTS_FILE, COMMENT_COLUMNS)
    comments: dict[int, PolisComment] = {}
    first_line: dict[int, int] = {}
    for line, fields in table.rows():
        comment_id = table.integer(fields, "comment-id", line)
        moderated = table.integer(fields, "moderated", line)
        if moderated not in (-1, 0, 1):
            raise PolisFormatError(table.name, line, f"moderated {moderated} is not 1, 0 or -1")
        if comment_id in comments:
            raise PolisFormatError(
                table.name,
                line,
                f"comment-id {comment_id} repeats (first on line {first_line[comment_id]})",
            )
        first_line[comment_id] = line
        comments[comment_id] = PolisComment(
            id=comment_id,
            author=table.integer(fields, "author-id", line, optional=True),
            timestamp=table.integer(fields, "timestamp", line),
            body=fields[table.index["comment-body"]],
            moderated=moderated,
        )
    return sorted(comments.values(), key=lambda c: c.id)


def _vote_value(table: _Table, fields: list[str], column: str, line: int) -> int:
    text = fields[table.index[column]].strip()
    if text not in VOTE_VALUES:
        raise PolisFormatError(
            table.name, line, f"vote {text!r} in column {column} is not 1, -1 or 0"
        )
    return VOTE_VALUES[text]


def _read_votes(path: Path, known: set[int]) -> tuple[list[PolisVote], int]:
    """Each participant's latest vote per comment, and how many exact duplicate rows were skipped.

    Real exports repeat some rows verbatim (a client retry); those are harmless and skipped.
    The same voter, comment and time with a different vote cannot be resolved: an error.
    """
    table = _Table(path, VOTE_COLUMNS)
    seen: dict[tuple[int, int, int], tuple[int, int]] = {}
    votes: list[tuple[int, int, PolisVote]] = []
    duplicates = 0
    for line, fields in table.rows():
        timestamp = table.integer(fields, "timestamp", line)
        comment = table.integer(fields, "comment-id", line)
        voter = table.integer(fields, "voter-id", line)
        vote = _vote_value(table, fields, "vote", line)
        if comment not in known:
            raise PolisFormatError(
                table.name, line, f"comment-id {comment} is not in {COMMENTS_FILE}"
            )
        key = (voter, comment, timestamp)
        if key in seen:
            first_line, first_vote = seen[key]
            if first_vote == vote:
                duplicates += 1
                continue
            raise PolisFormatError(
                table.name,
                line,
                f"duplicate row: voter {voter} on comment {comment} at the same time as "
                f"line {first_line}, with a different vote",
            )
        seen[key] = (line, vote)
        votes.append((timestamp, line, PolisVote(voter, comment, vote, timestamp)))
    votes.sort(key=lambda item: (item[0], item[1]))
    latest: dict[tuple[int, int], PolisVote] = {}
    for _, _, vote_row in votes:
        latest[(vote_row.participant, vote_row.comment)] = vote_row
    return list(latest.values()), duplicates


@dataclass
class _Participants:
    groups: dict[int, int | None]
    xids: dict[int, str]
    votes: list[PolisVote]


def _read_participants(path: Path, known: set[int]) -> _Participants:
    table = _Table(path, PARTICIPANT_COLUMNS)
    comment_columns: list[tuple[int, int]] = []
    for position, name in enumerate(table.header):
        if name in PARTICIPANT_COLUMNS or name == "xid":
            continue
        try:
            comment = int(name)
        except ValueError:
            raise PolisFormatError(
                table.name, 1, f"column {name!r} is neither a known column nor a comment id"
            ) from None
        if comment not in known:
            raise PolisFormatError(
                table.name, 1, f"column {comment} names a comment that is not in {COMMENTS_FILE}"
            )
        comment_columns.append((position, comment))
    result = _Participants({}, {}, [])
    first_line: dict[int, int] = {}
    for line, fields in table.rows():
        participant = table.integer(fields, "participant", line)
        if participant in first_line:
            raise PolisFormatError(
                table.name,
                line,
                f"participant {participant} repeats (first on line {first_line[participant]})",
            )
        first_line[participant] = line
        result.groups[participant] = table.integer(fields, "group-id", line, optional=True)
        if "xid" in table.index and fields[table.index["xid"]].strip():
            result.xids[participant] = fields[table.index["xid"]].strip()
        for position, comment in comment_columns:
            text = fields[position].strip()
            if text == "":
                continue
            if text not in VOTE_VALUES:
                raise PolisFormatError(
                    table.name, line, f"vote {text!r} in column {comment} is not 1, -1 or 0"
                )
            result.votes.append(PolisVote(participant, comment, VOTE_VALUES[text], None))
    return result


def _read_summary(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    summary: dict[str, str] = {}
    for line, fields in _records(path):
        if not fields:
            continue
        if len(fields) != 2:
            raise PolisFormatError(path.name, line, "expected key,value")
        summary[fields[0].strip()] = fields[1]
    return summary


def export_digest(directory: Path) -> str:
    """SHA-256 over the names and bytes of the export's files that exist."""
    digest = hashlib.sha256()
    for name in (COMMENTS_FILE, VOTES_FILE, PARTICIPANTS_FILE, SUMMARY_FILE):
        path = directory / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_polis_export(directory: Path | str) -> PolisExport:
    """Read and validate an export folder: comments.csv plus votes.csv (or, without it, the vote
    matrix of participants-votes.csv); participants-votes.csv and summary.csv when present."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolisFormatError(str(directory), None, "is not a folder")
    comments = _read_comments(directory)
    known = {c.id for c in comments}
    has_votes = (directory / VOTES_FILE).exists()
    has_participants = (directory / PARTICIPANTS_FILE).exists()
    if not has_votes and not has_participants:
        raise PolisFormatError(
            VOTES_FILE, None, f"file not found in {directory} (nor {PARTICIPANTS_FILE})"
        )
    participants = (
        _read_participants(directory / PARTICIPANTS_FILE, known) if has_participants else None
    )
    duplicates = 0
    if has_votes:
        votes, duplicates = _read_votes(directory / VOTES_FILE, known)
        source = VOTES_FILE
    else:
        assert participants is not None  # noqa: S101 - checked just above
        votes, source = participants.votes, PARTICIPANTS_FILE
    return PolisExport(
        directory=directory,
        comments=comments,
        votes=votes,
        votes_source=source,
        summary=_read_summary(directory / SUMMARY_FILE),
        polis_groups=participants.groups if participants else {},
        xids=participants.xids if participants else {},
        skipped_duplicate_rows=duplicates,
        digest=export_digest(directory),
    )
