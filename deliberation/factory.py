"""The app factory: configuration, extensions, blueprints, socket namespaces, CLI."""

from typing import Any

from flask import Flask, g, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import joinedload, lazyload

# Each feature package: routes.bp, events.register_namespaces, commands.register_commands.
from deliberation.accounts import routes as accounts_routes
from deliberation.admin import routes as admin_routes
from deliberation.agendas import commands as agendas_commands
from deliberation.agendas import events as agendas_events
from deliberation.agendas import routes as agendas_routes
from deliberation.config import PROJECT_ROOT, Config
from deliberation.core.errors import register_error_handlers
from deliberation.core.i18n import select_locale, select_timezone, translation_directories
from deliberation.core.realtime import register_core_namespaces, socket_options
from deliberation.core.security import bound_url_integers, register_security_headers
from deliberation.core.sessions import SocketAwareSessionInterface, login_identity
from deliberation.core.socket_writes import install_direct_writes
from deliberation.core.websocket_compression import decline_websocket_compression
from deliberation.evaluations import routes as evaluations_routes
from deliberation.extensions import babel, csrf, db, limiter, login_manager, migrate, socketio
from deliberation.home import routes as home_routes
from deliberation.mail import routes as mail_routes
from deliberation.proposals import events as proposals_events
from deliberation.proposals import routes as proposals_routes
from deliberation.roundtables import commands as roundtables_commands
from deliberation.roundtables import events as roundtables_events
from deliberation.roundtables import routes as roundtables_routes
from deliberation.summaries import commands as summaries_commands
from deliberation.summaries import routes as summaries_routes
from deliberation.voting import commands as voting_commands
from deliberation.voting import events as voting_events
from deliberation.voting import routes as voting_routes

BLUEPRINTS = [
    home_routes.bp,
    accounts_routes.bp,
    admin_routes.bp,
    agendas_routes.bp,
    voting_routes.bp,
    proposals_routes.bp,
    roundtables_routes.bp,
    summaries_routes.bp,
    evaluations_routes.bp,
    mail_routes.bp,
]
NAMESPACE_REGISTRARS = [
    agendas_events.register_namespaces,
    voting_events.register_namespaces,
    proposals_events.register_namespaces,
    roundtables_events.register_namespaces,
]
COMMAND_REGISTRARS = [
    agendas_commands.register_commands,
    voting_commands.register_commands,
    roundtables_commands.register_commands,
    summaries_commands.register_commands,
]


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: WAL so readers never block the writer, a busy timeout, enforced foreign keys."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_app(config: type[Config] = Config, overrides: dict[str, Any] | None = None) -> Flask:
    """Build a Madang app: configuration, extensions, blueprints, socket namespaces, CLI."""
    app = Flask(
        __name__,
        static_folder=str(PROJECT_ROOT / "static"),
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_object(config)
    app.config.update(overrides or {})
    # One setting names the site's time zone; Flask-Babel's format_datetime reads it from here.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["DEFAULT_TIMEZONE"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", translation_directories())

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    install_direct_writes()
    socketio.init_app(app, **socket_options(app.config))
    app.wsgi_app = decline_websocket_compression(app.wsgi_app)  # type: ignore[method-assign]
    app.session_interface = SocketAwareSessionInterface()

    bound_url_integers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_core_namespaces(socketio)
    for register_namespaces in NAMESPACE_REGISTRARS:
        register_namespaces(socketio)

    register_error_handlers(app)
    register_security_headers(app)
    _register_template_helpers(app)

    from deliberation.cli import register_cli

    register_cli(app, COMMAND_REGISTRARS)
    return app


def _register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from deliberation.accounts.forms import EmptyForm, LanguageForm
    from deliberation.accounts.models import category_label
    from deliberation.core.i18n import local_date, local_time, percent, zone_id
    from deliberation.core.navigation import main_nav_links
    from deliberation.core.sanitize import render_markdown

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.globals["main_nav_links"] = main_nav_links
    app.jinja_env.globals["category_label"] = category_label
    app.jinja_env.globals["zone_id"] = zone_id

    @app.context_processor
    def layout_context() -> dict[str, Any]:
        locale = str(get_locale() or "en")
        large_text = (
            current_user.large_text
            if getattr(current_user, "is_authenticated", False)
            else session.get("large_text", False)
        )
        if "layout_forms" not in g:
            g.layout_forms = {"language": LanguageForm(), "button": EmptyForm()}
        return {
            "current_locale": locale,
            "large_text": large_text,
            "language_form": g.layout_forms["language"],
            "button_form": g.layout_forms["button"],
        }


@login_manager.user_loader
def _load_user(cookie_id: str):
    from deliberation.accounts.models import User

    identity = login_identity(cookie_id)
    if identity is None:
        return None
    user_id, token = identity
    # Every request and every socket event loads the person: one query with their roles
    # (which most permission checks read); divisions, which few read, load when read.
    user = db.session.get(
        User, user_id, options=(joinedload(User.role_rows), lazyload(User.divisions))
    )
    if user is None or not user.is_active_account or user.session_token != token:
        return None
    return user


login_manager.login_view = "accounts.login"
login_manager.login_message_category = "info"
