"""The XSS corpus and the detector that the browser tests share.

A page fails if any script ran (alert/confirm/prompt/print hooked, window.__xss, dialogs), if the
CSP had to block anything (an injection reached the DOM even though it could not run), or if the
DOM holds active content that no template writes (on* attributes, javascript: URLs, inline
scripts, frames, objects, <base>, <meta http-equiv>, <style>), or a template expression was
evaluated server-side.
"""

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path

PAYLOADS = [
    line
    for line in (Path(__file__).parent / "data" / "xss_payloads.txt").read_text().splitlines()
    if line and not line.startswith("# ")
][: int(os.environ.get("XSS_PAYLOAD_LIMIT", "100000"))]
SSTI_RESULT = str(1337 * 1337)

HOOKS = """
window.__xss = 0;
window.__csp = [];
const __hit = () => { window.__xss += 1; };
window.alert = __hit; window.confirm = __hit; window.prompt = __hit; window.print = __hit;
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`);
});
"""

DOM_SCAN = """
() => {
  const bad = [];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'background',
                    'poster', 'code'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toUpperCase();
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\x00-\\x1f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(`${tag} ${name}`);
      if (name === 'srcdoc') bad.push(`${tag} srcdoc`);
      if (urlAttrs.includes(name) && (value.startsWith('javascript:') ||
          value.startsWith('vbscript:') || value.startsWith('data:text/html'))) {
        bad.push(`${tag} ${name}=${value.slice(0, 40)}`);
      }
      // (An injected style attribute is refused by the CSP and reported as a violation; scripts
      // such as Chart.js legitimately set element.style, so it is not flagged here.)
      if (name === 'formaction') bad.push(`${tag} ${name}`);
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FRAMESET', 'FRAME', 'PORTAL', 'APPLET',
         'STYLE', 'BGSOUND', 'ISINDEX', 'KEYGEN'].includes(tag)) bad.push(tag);
    if (tag === 'META' && el.httpEquiv) bad.push('META http-equiv');
    if (tag === 'SCRIPT') {
      let ok = false;
      try { ok = el.src && new URL(el.src).origin === location.origin; } catch (e) {}
      if (!ok) bad.push('inline or foreign SCRIPT');
    }
    if (tag === 'LINK' && el.href) {
      try { if (new URL(el.href).origin !== location.origin) bad.push('foreign LINK'); }
      catch (e) { bad.push('bad LINK'); }
    }
  }
  return bad;
}
"""

CHECK = f"""() => {{
  const scan = {DOM_SCAN};
  return {{xss: window.__xss, csp: window.__csp, bad: scan(),
          html: document.documentElement.outerHTML.includes('{SSTI_RESULT}')}};
}}"""


def problems_now(page) -> list[str]:
    """What the detector finds on the page as it stands (scripts that ran since it loaded)."""
    result = page.evaluate(CHECK)
    problems = []
    if result["xss"]:
        problems.append("script executed")
    if result["csp"]:
        problems.append(f"CSP blocked injected content: {result['csp'][:3]}")
    if result["bad"]:
        problems.append(f"active content in the DOM: {sorted(set(result['bad']))[:5]}")
    if result["html"]:
        problems.append("template expression evaluated")
    return problems


def check_page(page, url: str) -> list[str]:
    page.goto(url, wait_until="load")
    return problems_now(page)


def marker(prefix: str, i: int) -> str:
    """How payload i is tagged in a field, so a page can be searched for it ("q12:")."""
    return f"{prefix}{i}:"


class Packed(Sequence[tuple[list[int], str]]):
    """The texts of `packed_payloads`, packed when first used. The test modules keep them as
    constants; packed at import, every test process that collects a module would pay for
    them (about 3.5 s, mostly rendering Markdown), not just the one that runs its test."""

    def __init__(self, pack: Callable[[], list[tuple[list[int], str]]]) -> None:
        self._pack = pack

    @functools.cached_property
    def _texts(self) -> list[tuple[list[int], str]]:
        return self._pack()

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index):  # type: ignore[override]
        return self._texts[index]


def packed_payloads(
    limit: int,
    stored: Callable[[str], str],
    prefix: str,
    separator: str = " ",
    sent_limit: int | None = None,
    shown: Callable[[str], str] | None = None,
) -> Packed:
    """Every payload, packed in order into texts whose stored form (`stored`: what the service
    keeps) is at most `limit` long and still holds each payload's marker (`prefix` and its
    index): a payload whose unclosed tag would swallow the next one starts a new text.
    `sent_limit` bounds the text as sent too (a socket event refuses a longer one unread);
    `shown` (default `stored`) is what a reader sees of it, where the markers must be.
    (payload indexes, text) pairs, packed at first use."""
    return Packed(lambda: _pack(limit, stored, prefix, separator, sent_limit, shown))


def _pack(
    limit: int,
    stored: Callable[[str], str],
    prefix: str,
    separator: str,
    sent_limit: int | None,
    shown: Callable[[str], str] | None,
) -> list[tuple[list[int], str]]:

    def fits(text: str, indexes: list[int]) -> bool:
        if sent_limit is not None and len(text) > sent_limit:
            return False
        if len(stored(text)) > limit:
            return False
        seen = (shown or stored)(text)
        return all(marker(prefix, j) in seen for j in indexes)

    packed: list[tuple[list[int], str]] = []
    indexes: list[int] = []
    text = ""
    for i, payload in enumerate(PAYLOADS):
        piece = f"{marker(prefix, i)} {payload}"
        if text and fits(f"{text}{separator}{piece}", [*indexes, i]):
            indexes.append(i)
            text = f"{text}{separator}{piece}"
            continue
        if text:
            packed.append((indexes, text))
        if not fits(piece, [i]):
            raise AssertionError(f"payload {i} alone does not fit in {limit}")
        indexes, text = [i], piece
    if text:
        packed.append((indexes, text))
    return packed
