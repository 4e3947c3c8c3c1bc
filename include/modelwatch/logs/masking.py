"""Deterministic masking of secrets and of the variable parts of a log line.

Why: a template miner groups lines by their constant words; numbers, ids, addresses, paths,
durations and key=value values would otherwise split one logging statement into thousands of
templates. Masking before mining also makes an unmatched line's signature deterministic (its
masked text), whatever order hours run in. Secrets are replaced before a line is stored or
shown anywhere (`mask_secrets`, also used by the hints stage for change details).

Masking works token by token (whitespace-separated), and each distinct token is classified
once (a bounded cache), because real logs repeat their constant words endlessly: most of an
hour's tokens cost one dictionary lookup. Two line-level rules come first, for variables that
span spaces: quoted strings and month-name dates. Every pattern is anchored or possessive, so
no line can make it backtrack quadratically (the input edge also caps a line's length).
"""

from __future__ import annotations

import re

PARAM = "<*>"

# --- secrets -------------------------------------------------------------------------------

#: A key whose value is a secret: `client_secret=`, `access_token:`, `AWS_SECRET_ACCESS_KEY=`,
#: `"password": "..."`, `Authorization: Basic ...`.
_SECRET_KEY = re.compile(
    r"(?i)passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|authorization|^auth$|cookie|signature"
)
#: Where a `key=value` or `key: value` pair starts (the value is not taken: it may hold a pair
#: of its own, as in `down: password=hunter2`), and what a secret key's value is.
_PAIR = re.compile(r"""(?<![\w.-])([\w.-]++)(["']?\s*+[=:]\s*+)""")
_VALUE = re.compile(
    r"""((?:Basic|Bearer|Digest|Token|Negotiate|NTLM)\s++)?"""
    r"""("[^"\n]{0,400}+"|'[^'\n]{0,400}+'|[^\s,;&"'<>{}\[\]]++)""",
    re.IGNORECASE,
)
#: Credentials that are recognisable by their shape alone, keyed by nothing.
_SECRET_SHAPES = (
    re.compile(r"(?i)(?<![\w-])(bearer\s++)[\w.~+/=-]{8,}+"),
    re.compile(r"(?<![\w-])(Basic\s++)[A-Za-z0-9+/]{12,}+=*+"),
    re.compile(r"(?<![\w-])()(?:gh[pousr]|github_pat)_\w{20,}+"),
    re.compile(r"(?<![\w-])()xox[abposre]-[\w-]{10,}+"),
    re.compile(r"(?<![\w-])()(?:AKIA|ASIA)[0-9A-Z]{16}(?![\w-])"),
    re.compile(r"(?<![\w-])()eyJ[\w-]{8,}+\.[\w-]{8,}+\.[\w-]*+"),
    re.compile(r"(?<![\w-])()(?:sk|rk)_live_\w{16,}+"),
    re.compile(
        r"(?s)(-----BEGIN[ A-Z]{0,40}PRIVATE KEY-----).*?(?:-----END[ A-Z]{0,40}KEY-----|\Z)"
    ),
    re.compile(r"(?<![\w+.-])([a-zA-Z][\w+.-]*+://[^/\s:@]++:)[^@\s/]++(@)"),  # URL credentials
)
#: Cheap test that a line may hold a secret at all (most do not): substrings of its lower-cased
#: text, which `in` finds far faster than one case-insensitive alternation.
_SECRET_HINTS = (
    "pass", "pwd", "secret", "token", "key", "auth", "credential", "cookie", "signature",
    "bearer", "basic", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat", "xox", "akia",
    "asia", "eyj", "_live_", "@",
)  # fmt: skip
HIDDEN = "***"


def _hide_values(text: str) -> str:
    """`text` with the value of every pair whose key names a secret hidden. One pass over the
    pairs' starts, then each secret key's value from where its key ends: linear in the text."""
    out, done = [], 0
    for m in _PAIR.finditer(text):
        if m.start() < done or not _SECRET_KEY.search(m.group(1)):
            continue
        value = _VALUE.match(text, m.end())
        if value is None:
            continue
        scheme, body = value.group(1) or "", value.group(2)
        quote = body[0] if body[:1] in "\"'" and len(body) > 1 else ""
        out += [text[done : m.end()], scheme, quote, HIDDEN, quote]
        done = value.end()
    return "".join(out) + text[done:] if out else text


def _keep_around(m: re.Match[str]) -> str:
    """The match with its secret part hidden: group 1 (and a group 2, if any) are kept."""
    return m.group(1) + HIDDEN + (m.group(2) if m.re.groups > 1 else "")


def mask_secrets(text: str) -> str:
    """The line with passwords, tokens, keys and URL credentials replaced by `***`."""
    low = text.lower()
    if not any(h in low for h in _SECRET_HINTS):
        return text
    text = _hide_values(text)
    for pattern in _SECRET_SHAPES:
        text = pattern.sub(_keep_around, text)
    return text


# --- variables -----------------------------------------------------------------------------

#: Quoted strings (at most 200 characters): one variable, spaces and all.
_QUOTED = re.compile(r""""[^"\n]{0,200}+"|(?<![\w'])'[^'\n]{0,200}+'(?![\w'])""")
_MONTHS = " ".join(
    (
        "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june",
        "july august september october november december",
    )
)
_DAYS = "mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday am pm"
_MONTHS, _DAYS = frozenset(_MONTHS.split(" ")), frozenset(_DAYS.split(" "))
_OPEN = "([{<\"'"
_CLOSE = ")]}>\"',;:.!?"
_KEY = re.compile(r"[A-Za-z_@$][\w.@$-]*+")
_WIN_PATH = re.compile(r"[A-Za-z]:\\|\\\\")
_DOTTED = re.compile(r"[a-z0-9_-]{2,}+(?:\.[a-z0-9_-]{2,}+)++")
_SLASHED = re.compile(r"[\w.-]++(?:/[\w.+-]++)++/?+")
#: Cache of classified tokens; cleared when full so memory stays bounded.
_CACHE: dict[str, str] = {}
_CACHE_MAX = 200_000
#: Tokens longer than this are blobs (base64, serialised payloads): always variable.
LONG_TOKEN = 80


def _variable(core: str) -> bool:
    """Whether a token (its punctuation stripped) is a variable by its shape alone."""
    if len(core) > LONG_TOKEN or any(c.isdigit() for c in core):
        return True  # numbers, ids, addresses, versions, times, sizes, hex, uuids
    if core[0] in "/~" or core.startswith(("./", "../")) or _WIN_PATH.match(core):
        return any(c.isalnum() for c in core)  # paths
    if "://" in core or ("@" in core and core[0] != "@" and core[-1] != "@"):
        return True  # URLs, e-mail addresses, user@host
    return bool(_DOTTED.fullmatch(core) or _SLASHED.fullmatch(core))  # host/file names, a/b


def _classify(token: str) -> str:
    if PARAM in token:
        return token
    start, end = 0, len(token)
    while start < end and token[start] in _OPEN:
        start += 1
    while end > start and token[end - 1] in _CLOSE:
        end -= 1
    core = token[start:end]
    if not core:
        return token
    head, tail = token[:start], token[end:]
    for sep in ("=", ":"):
        key, found, value = core.partition(sep)
        if found and value and _KEY.fullmatch(key):
            if sep == ":" and (value.isdigit() or value.startswith(("/", "\\"))):
                return head + PARAM + tail  # host:port, C:\path
            return f"{head}{key}{sep}{PARAM}{tail}"
    return head + PARAM + tail if _variable(core) else token


def _token(token: str) -> str:
    got = _CACHE.get(token)
    if got is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        got = _CACHE[token] = _classify(token)
    return got


#: Month and day names as written in logs (`Jul`, `JUL`, `jul`, `Jul,`): a quick first test.
_NAME_FORMS = frozenset(
    f
    for n in _MONTHS | _DAYS
    for w in (n, n.capitalize(), n.upper())
    for f in (w, w + ",", w + ".")
)


def _dates(toks: list[str]) -> None:
    """Month and day names next to a masked value are part of a date: `Jul 10 12:00:01`."""
    if _NAME_FORMS.isdisjoint(toks):
        return
    for names in (_MONTHS, _DAYS):
        for i, t in enumerate(toks):
            if t.lower().rstrip(".,") in names and (
                (i > 0 and toks[i - 1] == PARAM) or (i + 1 < len(toks) and toks[i + 1] == PARAM)
            ):
                toks[i] = PARAM


def mask_tokens(text: str) -> list[str]:
    """The masked tokens of a line whose secrets are already hidden."""
    if '"' in text or "'" in text:
        text = _QUOTED.sub(lambda m: m.group(0)[0] + PARAM + m.group(0)[0], text)
    cache = _CACHE
    toks = [cache.get(t) or _token(t) for t in text.split()]
    _dates(toks)
    return toks


def mask(text: str) -> str:
    """The line's masked form: secrets hidden, variable parts `<*>`, whitespace single."""
    return " ".join(mask_tokens(mask_secrets(text)))


def tokens(masked: str) -> list[str]:
    return masked.split(" ") if masked else []
