"""Reading a Pol.is export: the real shape, and every kind of bad input named by file and line."""

from pathlib import Path

import pytest

from deliberation.summaries.polis_files import PolisFormatError, read_polis_export
from tests.summaries.polis_data import polis_data_dir

COMMENTS = """timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body
1000,Mon,0,10,2,0,1,First statement
1001,Mon,1,11,0,1,1,"A statement, with a comma
over two lines"
1002,Mon,2,10,0,0,-1,Moderated out
"""
VOTES = """timestamp,datetime,comment-id,voter-id,vote
2000,Mon,0,10,1
2001,Mon,1,10,-1
2002,Mon,0,11,1
2003,Mon,0,10,-1
2003,Mon,0,10,-1
"""
PARTICIPANTS = """participant,xid,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2
10,ext-10,0,2,2,0,2,-1,-1,
11,,,1,1,1,0,1,,
"""


def write_export(folder: Path, **files: str) -> Path:
    defaults = {"comments.csv": COMMENTS, "votes.csv": VOTES}
    for name, text in {**defaults, **files}.items():
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_reads_comments_votes_latest_vote_and_moderation(tmp_path):
    export = read_polis_export(write_export(tmp_path, **{"participants-votes.csv": PARTICIPANTS}))
    assert [c.id for c in export.comments] == [0, 1, 2]
    assert export.comments[1].body == "A statement, with a comma\nover two lines"
    assert export.moderated_out == {2}
    latest = {(v.participant, v.comment): v.vote for v in export.votes}
    assert latest == {(10, 0): -1, (10, 1): -1, (11, 0): 1}
    assert export.skipped_duplicate_rows == 1
    assert export.votes_source == "votes.csv"
    assert export.polis_groups == {10: 0, 11: None}
    assert export.xids == {10: "ext-10"}


def test_matrix_from_participants_votes_when_votes_csv_is_missing(tmp_path):
    export = read_polis_export(
        write_export(tmp_path, **{"votes.csv": None, "participants-votes.csv": PARTICIPANTS})
    )
    assert export.votes_source == "participants-votes.csv"
    assert {(v.participant, v.comment, v.vote) for v in export.votes} == {
        (10, 0, -1),
        (10, 1, -1),
        (11, 0, 1),
    }
    matrix = export.vote_matrix()
    assert matrix.comments == (0, 1, 2)


def test_participants_votes_without_xid_column(tmp_path):
    text = "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1\n5,1,0,2,1,1,1,-1\n"
    export = read_polis_export(
        write_export(tmp_path, **{"votes.csv": None, "participants-votes.csv": text})
    )
    assert export.polis_groups == {5: 1} and export.xids == {}


def bad(tmp_path, **files) -> PolisFormatError:
    with pytest.raises(PolisFormatError) as caught:
        read_polis_export(write_export(tmp_path, **files))
    return caught.value


def test_missing_comments_file(tmp_path):
    error = bad(tmp_path, **{"comments.csv": None})
    assert error.file == "comments.csv" and "not found" in str(error)


def test_missing_votes_and_matrix(tmp_path):
    error = bad(tmp_path, **{"votes.csv": None})
    assert error.file == "votes.csv" and "participants-votes.csv" in str(error)


def test_not_a_folder(tmp_path):
    with pytest.raises(PolisFormatError, match="is not a folder"):
        read_polis_export(tmp_path / "nowhere")


def test_wrong_header(tmp_path):
    error = bad(tmp_path, **{"votes.csv": "time,comment,voter,vote\n1,0,1,1\n"})
    assert (error.file, error.line) == ("votes.csv", 1)
    assert "comment-id" in str(error) and "voter-id" in str(error)


def test_empty_file(tmp_path):
    error = bad(tmp_path, **{"comments.csv": ""})
    assert (error.file, error.line) == ("comments.csv", 1) and "empty" in str(error)


def test_non_numeric_vote(tmp_path):
    error = bad(tmp_path, **{"votes.csv": VOTES + "2004,Mon,1,11,yes\n"})
    assert (error.file, error.line) == ("votes.csv", 7)
    assert "'yes'" in str(error)


def test_non_numeric_id(tmp_path):
    error = bad(tmp_path, **{"votes.csv": VOTES + "2004,Mon,one,11,1\n"})
    assert (error.file, error.line) == ("votes.csv", 7) and "comment-id 'one'" in str(error)


def test_non_numeric_vote_in_matrix(tmp_path):
    matrix = PARTICIPANTS + "12,,,0,1,1,0,x,,\n"
    error = bad(tmp_path, **{"votes.csv": None, "participants-votes.csv": matrix})
    assert (error.file, error.line) == ("participants-votes.csv", 4)


def test_unknown_comment_id(tmp_path):
    error = bad(tmp_path, **{"votes.csv": VOTES + "2004,Mon,99,11,1\n"})
    assert (error.file, error.line) == ("votes.csv", 7)
    assert "99" in str(error) and "comments.csv" in str(error)


def test_unknown_comment_column_in_matrix(tmp_path):
    text = "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,77\n"
    error = bad(tmp_path, **{"votes.csv": None, "participants-votes.csv": text})
    assert (error.file, error.line) == ("participants-votes.csv", 1) and "77" in str(error)


def test_duplicate_comment_row(tmp_path):
    error = bad(tmp_path, **{"comments.csv": COMMENTS + "1003,Mon,1,12,0,0,1,Again\n"})
    assert (error.file, error.line) == ("comments.csv", 6)
    assert "repeats (first on line 3)" in str(error)


def test_conflicting_duplicate_vote_row(tmp_path):
    error = bad(tmp_path, **{"votes.csv": VOTES + "2003,Mon,0,10,1\n"})
    assert (error.file, error.line) == ("votes.csv", 7)
    assert "duplicate row" in str(error) and "line 5" in str(error)


def test_duplicate_participant_row(tmp_path):
    matrix = PARTICIPANTS + "10,,0,2,2,0,2,-1,-1,\n"
    error = bad(tmp_path, **{"participants-votes.csv": matrix})
    assert (error.file, error.line) == ("participants-votes.csv", 4)


def test_truncated_file_short_row(tmp_path):
    error = bad(tmp_path, **{"votes.csv": VOTES + "2004,Mon,1"})
    assert (error.file, error.line) == ("votes.csv", 7) and "truncated" in str(error)


def test_truncated_file_inside_quotes(tmp_path):
    error = bad(tmp_path, **{"comments.csv": COMMENTS + '1003,Mon,3,12,0,0,1,"cut off'})
    assert (error.file, error.line) == ("comments.csv", 6) and "truncated" in str(error)


def test_not_utf8(tmp_path):
    write_export(tmp_path)
    (tmp_path / "votes.csv").write_bytes(b"timestamp,datetime,comment-id,voter-id,vote\n\xff\xfe\n")
    with pytest.raises(PolisFormatError, match="votes.csv.*UTF-8"):
        read_polis_export(tmp_path)


def test_every_shared_conversation_reads():
    data = polis_data_dir()
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        export = read_polis_export(folder)
        assert export.comments and export.votes and export.polis_group_count
