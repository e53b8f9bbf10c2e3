"""Every page the authorization matrix reaches gives each element id once: a second
id="csrf_token" (one per header form) breaks label-for, aria references and anchors."""

import re
from collections import Counter

from tests.security import support

ID_RE = re.compile(r"""<[a-zA-Z][^>]*?\sid=["']([^"']+)["']""")


def duplicate_ids(html: str) -> list[str]:
    """The ids an HTML page gives to more than one element."""
    counts = Counter(ID_RE.findall(html))
    return sorted(name for name, n in counts.items() if n > 1)


def test_no_page_gives_an_id_twice(app):
    world = support.build_world(app)
    pages = 0
    failures: list[str] = []
    for persona in ("anonymous", "admin"):
        client, _token = support.persona_client(app, world, persona)
        for rule in support.routes(app):
            if "GET" not in (rule.methods or set()):
                continue
            for filled in support.fillings(rule, world):
                response = client.get(filled.url)
                if response.status_code != 200 or "html" not in response.content_type:
                    continue
                pages += 1
                twice = duplicate_ids(response.get_data(as_text=True))
                if twice:
                    failures.append(f"{persona} {filled.url}: {', '.join(twice)}")
    assert pages > 40
    assert not failures, "\n".join(failures)
