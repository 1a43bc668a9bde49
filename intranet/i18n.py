"""Japanese first, English available.

The catalog is a plain Python mapping (``intranet/messages.py``): every UI
string is looked up by key, so there is no compile step and a missing
translation fails the test suite rather than showing a key to a user.
The language comes from the ``lang`` cookie, defaulting to Japanese.
"""
import functools

from jinja2.ext import Extension
from jinja2.lexer import Token
from pyramid.events import BeforeRender, subscriber

from .messages import MESSAGES

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
COOKIE_NAME = "lang"


def locale_negotiator(request):
    lang = request.cookies.get(COOKIE_NAME)
    return lang if lang in LOCALES else DEFAULT_LOCALE


def translate(locale: str, key: str, **kw) -> str:
    ja, en = MESSAGES[key]
    text = en if locale == "en" else ja
    return text.format(**kw) if kw else text


@functools.cache
def translator(locale: str):
    """``translate`` with the locale fixed: the templates' ``_``, called
    about 190 times by a case page (one call less per string than going
    through the request)."""
    index = 1 if locale == "en" else 0

    def _(key, **kw):
        text = MESSAGES[key][index]
        return text.format(**kw) if kw else text

    return _


class MissingMessage(RuntimeError):
    """A template asked for a key the catalog lacks (a RuntimeError, not a
    KeyError: Jinja would turn a LookupError into a blank)."""


class Catalog(dict):
    """One locale's texts by key (``_messages`` in templates)."""

    def __missing__(self, key):
        raise MissingMessage(key)


@functools.cache
def catalog(locale: str) -> Catalog:
    index = 1 if locale == "en" else 0
    return Catalog({key: texts[index] for key, texts in MESSAGES.items()})


class ConstantMessages(Extension):
    """Compiles ``_(key)`` with one argument and no keywords — most of a
    page's ~240 texts: ``_('field.name')``, ``_('contact.' ~ c.kind)`` — to
    ``_messages[key]``: the same text (``_`` formats only with keywords) for
    a subscript instead of a call through Jinja's ``Context.call``, which
    cost the case page ~0.5 ms (issue 21). ``_`` with keywords stays a call."""

    OPEN, CLOSE = {"lparen", "lbracket", "lbrace"}, {"rparen", "rbracket", "rbrace"}

    def filter_stream(self, stream):
        return self._rewrite(list(stream))

    def _rewrite(self, tokens: list) -> list:
        out, i, n = [], 0, len(tokens)
        while i < n:
            token = tokens[i]
            end = self._single_argument_call(tokens, i) if token.type == "name" and token.value == "_" else None
            if end is None:
                out.append(token)
                i += 1
                continue
            out.append(Token(token.lineno, "name", "_messages"))
            out.append(Token(tokens[i + 1].lineno, "lbracket", "["))
            out.extend(self._rewrite(tokens[i + 2:end]))
            out.append(Token(tokens[end].lineno, "rbracket", "]"))
            i = end + 1
        return out

    def _single_argument_call(self, tokens: list, i: int) -> int | None:
        """The index of the ``)`` closing ``_(`` at ``i`` if the call has one
        argument and no keyword (and ``_`` is no attribute), else None."""
        if i + 1 >= len(tokens) or tokens[i + 1].type != "lparen" or (i and tokens[i - 1].type == "dot"):
            return None
        depth = 0
        for j in range(i + 1, len(tokens)):
            kind = tokens[j].type
            if kind in self.OPEN:
                depth += 1
            elif kind in self.CLOSE:
                depth -= 1
                if depth == 0:
                    return j if j > i + 2 else None   # ``_()``: no argument
            elif depth == 1 and kind in ("comma", "assign"):
                return None
            elif kind in ("variable_end", "block_end", "eof"):
                return None
        return None


def _t(request, key, **kw):
    return translate(request.locale_name, key, **kw)


@subscriber(BeforeRender)
def add_translator(event):
    request = event.get("request")
    if request is not None:
        event["_"] = translator(request.locale_name)
        event["_messages"] = catalog(request.locale_name)  # see ConstantMessages
        event["locale"] = request.locale_name


def includeme(config):
    config.set_locale_negotiator(locale_negotiator)
    config.add_request_method(_t, "t")
    config.scan(__name__)
