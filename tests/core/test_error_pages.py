"""Error pages explain the error in the viewer's language, in our own words: never Werkzeug's
English description. JSON callers keep the status and the error's name."""

import pytest

from tests.conftest import csrf_token_from
from tests.factories import make_user

WERKZEUG_WORDS = (
    "The requested URL",
    "on the server",
    "The method is not allowed",
    "You don't have the permission",
    "The server encountered an internal error",
    "per 1 minute",
)
KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9"}


@pytest.fixture
def failing_app(app):
    """The app with a view that fails, as a bug would, and real 500 pages instead of raising."""

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/test-broken", "test_broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def _many_logins(client, headers):
    token = csrf_token_from(client.get("/login", headers=headers).get_data(as_text=True))
    data = {"email": "x@example.org", "password": "wrong password", "csrf_token": token}
    response = None
    for _ in range(25):
        response = client.post("/login", data=data, headers=headers)
    return response


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            KOREAN,
            {
                404: "이 주소에는 페이지가 없습니다",
                405: "그런 방식으로 이용할 수 없습니다",
                500: "서버에서 문제가 생겼습니다",
                429: "짧은 시간에 너무 많이 시도했습니다",
            },
        ),
        (
            {"Accept-Language": "en"},
            {
                404: "There is no page at this address",
                405: "This page cannot be used that way",
                500: "Something went wrong on our side",
                429: "Too many tries in a short time",
            },
        ),
    ],
)
def test_error_pages_explain_in_the_viewers_language(failing_app, headers, expected):
    client = failing_app.test_client()
    responses = {
        404: client.get("/no-such-page", headers=headers),
        405: client.delete("/", headers=headers),
        500: client.get("/test-broken", headers=headers),
        429: _many_logins(client, headers),
    }
    for status, response in responses.items():
        page = response.get_data(as_text=True)
        assert response.status_code == status
        assert expected[status] in page, status
        for words in WERKZEUG_WORDS:
            assert words not in page, (status, words)


def test_forbidden_page_in_korean(app, client, auth):
    with app.app_context():
        make_user(email="citizen@example.org", language="ko")
    auth.login("citizen@example.org")
    response = client.get("/admin/audit")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "이 계정으로는 이 페이지를 보거나 이 작업을 할 수 없습니다." in page
    assert "You don't have the permission" not in page


def test_json_errors_keep_their_status_and_name(client):
    response = client.get(
        "/no-such-page", headers={"Accept": "application/json", "Accept-Language": "ko"}
    )
    assert response.status_code == 404
    assert response.json["error"] == "Not Found"
    assert response.json["message"].startswith("이 주소에는 페이지가 없습니다")
