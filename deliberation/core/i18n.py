"""Language choice: a person's saved preference, else the session's, else the browser's."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_location
from babel.numbers import format_decimal
from flask import current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale, get_timezone
from flask_login import current_user

from deliberation.core.errors import is_database_outage
from deliberation.db import as_utc

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def translation_directories() -> str:
    """Every feature keeps its own catalogue; Flask-Babel merges them (';'-separated)."""
    dirs = sorted(str(p) for p in PACKAGE_DIR.rglob("translations") if p.is_dir())
    return ";".join(dirs)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    try:
        if getattr(current_user, "is_authenticated", False):
            if current_user.preferred_language in languages:
                return current_user.preferred_language
    except Exception as error:
        # Loading the person needs the database; while it is away, the message saying so is
        # in the language the browser asks for.
        if not is_database_outage(error):
            raise
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


#: The zones offered on the profile, Seoul first: where the council's people live and travel.
COMMON_TIMEZONES = (
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
)


def select_timezone() -> str | None:
    """The zone the signed-in person chose on their profile; None lets Flask-Babel fall back
    to the site's DEFAULT_TIMEZONE (also for guests, CLI commands and background jobs)."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    return current_user.timezone if current_user.timezone in COMMON_TIMEZONES else None


def zone_name(zone: str) -> str:
    """A zone as people name it in the page's language ("Germany Time (Europe/Berlin)")."""
    return f"{get_timezone_location(zone, locale=get_locale())} ({zone})"


def local_time(moment: datetime | str | None) -> str:
    """A stored (UTC) time in the viewer's time zone (their profile's, else the site's), with
    the zone named: people read "2026-12-05 10:27 (South Korea Time)", never a UTC time.
    Also takes the ISO text of such a time, as cached payloads carry it."""
    return _in_viewers_zone(moment, "yyyy-MM-dd HH:mm (VVVV)")


def local_date(moment: datetime | str | None) -> str:
    """The day of a stored (UTC) time in the viewer's time zone, as `local_time` reads it
    ("2026-12-07" for 2026-12-06 15:58 UTC in Seoul): never the UTC day."""
    return _in_viewers_zone(moment, "yyyy-MM-dd")


def _in_viewers_zone(moment: datetime | str | None, pattern: str) -> str:
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return format_datetime(as_utc(moment), pattern)


def percent(value: float | None) -> str:
    """A share in percent as Korean and English text set it: one decimal, the sign joined to
    the number ("41.7%", never "41.7 %", which a narrow table cell breaks between the two);
    "–" when there is no share to show. Templates write a share with `|percent`."""
    if value is None:
        return "–"
    return f"{format_decimal(value, format='#,##0.0', locale=get_locale())}%"


def zone_id() -> str:
    """The viewer's time zone by its IANA name ("Asia/Seoul"): scripts that write times into
    a page use it (Intl.DateTimeFormat's timeZone), so they agree with the server's."""
    return str(get_timezone())


def zone_label() -> str:
    """The site's time zone as people name it ("South Korea Time"), for labels of time inputs."""
    return get_timezone_location(get_timezone(), locale=get_locale())


def from_local(moment: datetime) -> datetime:
    """A time typed into a form (no zone: read as the site's time zone) as an aware UTC time."""
    if moment.tzinfo is None:
        # By name through zoneinfo: a pytz zone given to replace() would apply its LMT offset.
        moment = moment.replace(tzinfo=ZoneInfo(str(get_timezone())))
    return moment.astimezone(UTC)
