"""CSV exports of an item's summary document: its comments and its roundtable results.

Each takes the document built by `summaries.queries` and returns the CSV text; no participant
is named, and text is made safe to open in a spreadsheet.
"""

import csv
import io
from typing import Any


def comments_csv(document: dict[str, Any]) -> str:
    """One row per analysed comment: totals, each group's votes, and where it ranks."""
    groups = [g["group"] for g in document["groups"]]
    consensus_agree = {c["comment_id"]: c["score"] for c in document["consensus"]["agree"]}
    consensus_disagree = {c["comment_id"]: c["score"] for c in document["consensus"]["disagree"]}
    divisive = {c["comment_id"]: c["score"] for c in document["divisive"]}
    representative = {}
    for group in document["groups"]:
        for entry in group["representative"]:
            representative.setdefault(entry["comment_id"], []).append(
                f"{group['group']}:{entry['direction']}"
            )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["comment_id", "polis_comment_id", "text", "agree", "disagree", "pass"]
    for group in groups:
        header += [f"group_{group}_agree", f"group_{group}_disagree", f"group_{group}_pass",
                   f"group_{group}_seen"]  # fmt: skip
    header += ["consensus_agree", "consensus_disagree", "divisive", "representative_of"]
    writer.writerow(header)
    for comment in document["comments"]:
        polis_id = comment["polis_comment_id"]
        row = [
            comment["comment_id"],
            "" if polis_id is None else polis_id,
            _csv_text(comment["text"]),
            comment["agree"],
            comment["disagree"],
            comment["pass"],
        ]
        for view in comment["groups"]:
            row += [view["agree"], view["disagree"], view["pass"], view["seen"]]
        cid = comment["comment_id"]
        row += [consensus_agree.get(cid, ""), consensus_disagree.get(cid, ""),
                divisive.get(cid, ""), " ".join(representative.get(cid, []))]  # fmt: skip
        writer.writerow(row)
    return buffer.getvalue()


#: Columns of the roundtables CSV: one row per poll option and member category ("all" for
#: everyone), then one row per theme.
#: Member categories with too few votes are added up as "other" (`combined_categories` lists
#: them) or, when no breakdown would be safe, left out (`breakdown_withheld`); an open poll
#: has one row per option and no counts.
ROUNDTABLE_CSV_HEADER = [
    "record", "session_id", "session_title", "session_state", "poll_id", "poll_question",
    "poll_kind", "poll_state", "poll_total", "option_id", "option_label", "theme_id",
    "theme_name", "member_category", "votes", "agree", "disagree", "pass", "support_percent",
    "tables", "agenda_item_id", "proposal_id", "source", "combined_categories",
    "breakdown_withheld",
]  # fmt: skip


def roundtables_csv(document: dict[str, Any]) -> str:
    """The summary's roundtable results as CSV: poll counts by option and member category,
    then the themes with their support and table origins; no participant is named."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ROUNDTABLE_CSV_HEADER, lineterminator="\n", restval="")
    writer.writeheader()
    for session in document.get("roundtables") or []:
        base = {
            "session_id": session["session_id"],
            "session_title": _csv_text(session["title"]),
            "session_state": session["state"],
        }
        for poll in session["polls"]:
            rule = poll.get("small_groups") or {}
            on_poll = {
                **base,
                "record": "poll",
                "poll_id": poll["poll_id"],
                "poll_question": _csv_text(poll["question"]),
                "poll_kind": poll["kind"],
                "poll_state": poll["state"],
                "poll_total": "" if poll["total"] is None else poll["total"],
                "source": poll["source"],
                "combined_categories": " ".join(rule.get("combined") or []),
                "breakdown_withheld": "yes" if rule.get("withheld") else "",
            }
            for option in poll["options"]:
                groups = [("all", option["all"])] if option["all"] is not None else [("", None)]
                groups += [(c, option["by_category"][c]) for c in poll["categories"]]
                for category, counts in groups:
                    row = {
                        **on_poll,
                        "option_id": option["option_id"],
                        "option_label": _csv_text(option["label"]),
                        "theme_id": option["theme_id"] or "",
                        "member_category": category,
                    }
                    if counts is None:
                        pass  # an open poll: listed, not counted
                    elif isinstance(counts, dict):
                        row |= {k: counts[k] for k in ("agree", "disagree", "pass")}
                    else:
                        row["votes"] = counts
                    writer.writerow(row)
        for theme in session["themes"]:
            support = theme["support_percent"]
            writer.writerow(
                {
                    **base,
                    "record": "theme",
                    "theme_id": theme["theme_id"],
                    "theme_name": _csv_text(theme["name"]),
                    "support_percent": "" if support is None else support,
                    "tables": " ".join(str(n) for n in theme["tables"]),
                    "agenda_item_id": theme["agenda_item_id"] or "",
                    "proposal_id": theme["proposal_id"] or "",
                    "source": theme["source"],
                }
            )
    return buffer.getvalue()


def _csv_text(text: str) -> str:
    """Comment text safe to open in a spreadsheet (no formula injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CATEGORY_CSV_HEADER = [
    "member_category", "ballot_voters", "verified", "pending_requests_counted_as_citizens",
]  # fmt: skip


def categories_csv(document: dict[str, Any]) -> str:
    """One row per member category: how many voted under it (as cast), whether it is verified
    (every category but citizen is), and the pending requests counted as citizens."""
    block = document.get("categories") or {}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CATEGORY_CSV_HEADER, lineterminator="\n", restval="")
    writer.writeheader()
    for category, count in (block.get("ballot_voters_by_category") or {}).items():
        citizen = category == "citizen"
        writer.writerow(
            {
                "member_category": category,
                "ballot_voters": count,
                "verified": "default" if citizen else "yes",
                "pending_requests_counted_as_citizens": (
                    block.get("pending_requests_counted_as_citizens", 0) if citizen else ""
                ),
            }
        )
    return buffer.getvalue()
