"""Times in mail: in the recipient's time zone, with the zone named, so nobody converts from
UTC in their head; and the day a daily digest covers, counted in that zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app
from flask_babel import get_locale

from deliberation.accounts.models import User
from deliberation.core.i18n import COMMON_TIMEZONES
from deliberation.db import as_utc


def zone_of(user: User | None = None) -> ZoneInfo:
    """The zone a person reads times in: the one chosen on their profile, else the site's
    DEFAULT_TIMEZONE (Asia/Seoul unless set)."""
    if user is not None and user.timezone in COMMON_TIMEZONES:
        return ZoneInfo(user.timezone)
    return ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Seoul")


def mail_time(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """A stored (UTC) time in the zone, in the locale in force, the zone named:
    "2027-01-04 11:00 (South Korea Time)" / "2027-01-04 11:00 (대한민국 시간)"."""
    if moment is None:
        return ""
    return format_datetime(
        as_utc(moment), "yyyy-MM-dd HH:mm (VVVV)", tzinfo=zone or zone_of(), locale=get_locale()
    )


def previous_day(now: datetime, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The day before `now` in the zone, and its start and end as UTC times."""
    today = as_utc(now).astimezone(zone).date()
    end = datetime.combine(today, time(), tzinfo=zone).astimezone(UTC)
    start = datetime.combine(today - timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return today - timedelta(days=1), start, end
