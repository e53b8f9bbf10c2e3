"""Reads about people and divisions that several pages share."""

from collections import Counter

from sqlalchemy import func, or_, select

from deliberation.accounts.models import Division, MemberCategory, User, division_memberships
from deliberation.extensions import db


def search_users(text: str = "", page: int = 1, per_page: int = 50):
    """People matching a name or email fragment, paginated."""
    query = select(User).order_by(User.id)
    if text:
        pattern = f"%{text.strip()}%"
        query = query.where(or_(User.display_name.ilike(pattern), User.email.ilike(pattern)))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def all_divisions(active_only: bool = False) -> list[Division]:
    query = select(Division).order_by(Division.id)
    if active_only:
        query = query.where(Division.is_active.is_(True))
    return list(db.session.scalars(query))


def participation_composition() -> dict:
    """Who takes part: active members by category and by division, as counts and percentages."""
    active = User.is_active_account.is_(True)
    total = db.session.scalar(select(func.count(User.id)).where(active)) or 0
    by_category = Counter(
        {
            category: count
            for category, count in db.session.execute(
                select(User.member_category, func.count(User.id))
                .where(active)
                .group_by(User.member_category)
            )
        }
    )
    division_counts = dict(
        db.session.execute(
            select(division_memberships.c.division_id, func.count())
            .join(User, User.id == division_memberships.c.user_id)
            .where(active)
            .group_by(division_memberships.c.division_id)
        ).all()
    )

    def share(count: int) -> float:
        return round(100 * count / total, 1) if total else 0.0

    return {
        "total": total,
        "categories": [
            {"category": c, "count": by_category.get(c, 0), "percent": share(by_category.get(c, 0))}
            for c in MemberCategory
        ],
        "divisions": [
            {
                "division": d,
                "count": division_counts.get(d.id, 0),
                "percent": share(division_counts.get(d.id, 0)),
            }
            for d in all_divisions(active_only=True)
        ],
    }
