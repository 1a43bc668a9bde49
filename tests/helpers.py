"""WebTest helpers."""
from tests.factories import PASSWORD


def login(testapp, login: str, password: str = PASSWORD, next_url: str | None = None, status="*"):
    page = testapp.get("/login" + (f"?next={next_url}" if next_url else ""))
    form = page.forms["login-form"]
    form["login"] = login
    form["password"] = password
    return form.submit(status=status)


def csrf_token(testapp, path="/"):
    page = testapp.get(path)
    return page.html.find("input", {"name": "csrf_token"})["value"]
