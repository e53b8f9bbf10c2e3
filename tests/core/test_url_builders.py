"""The test processes reuse Werkzeug's URL builders between apps (tests/url_builders.py):
every reused builder must be the code Werkzeug would compile for that rule."""

from flask import url_for
from werkzeug.routing.rules import Rule

from deliberation import create_app
from deliberation.config import TestConfig
from tests.conftest import config_overrides


def test_every_rule_of_a_second_app_builds_with_the_code_werkzeug_compiles_for_it(tmp_path):
    compile_builder = Rule._compile_builder
    assert getattr(compile_builder, "memoised", False), "conftest did not install the reuse"
    first = create_app(TestConfig, config_overrides(tmp_path / "a.sqlite3"))
    second = create_app(TestConfig, config_overrides(tmp_path / "b.sqlite3"))
    first_builders = {rule.rule: rule._build.__func__ for rule in first.url_map.iter_rules()}
    reused = 0
    for rule in second.url_map.iter_rules():
        for append_unknown, bound in ((False, rule._build), (True, rule._build_unknown)):
            fresh = compile_builder.original(rule, append_unknown).__code__
            assert bound.__func__.__code__.co_code == fresh.co_code, rule.rule
            assert bound.__func__.__code__.co_consts == fresh.co_consts, rule.rule
            assert bound.__func__.__code__.co_varnames == fresh.co_varnames, rule.rule
            assert bound.__self__ is rule
        reused += rule._build.__func__ is first_builders[rule.rule]
    assert reused > 100, "the second app compiled its builders again"


def test_urls_built_by_reused_builders_carry_their_own_values(app):
    with app.test_request_context():
        assert url_for("static", filename="a b.css") == "/static/a%20b.css"
        assert url_for("roundtables.room", session_id=7) == "/roundtables/7/room"
        assert url_for("roundtables.room", session_id=8, lang="ko") == "/roundtables/8/room?lang=ko"
