"""The escaping functions on their own: control characters, links and each format's markup."""

from __future__ import annotations

import pytest

from modelwatch.untrusted import (
    header_text,
    html_href,
    html_text,
    plain_text,
    slack_link,
    slack_text,
    strip_control,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\r\nb", "a b"),
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]8;;https://evil.example\x07link\x1b]8;;\x07", "link"),
        ("nul\x00\x07bel\x7f\x9b", "nul bel"),
        ("\u202eabc\u202c \u2066x\u2069", "abc x"),
        ("  many   spaces\t", "many spaces"),
        ("plain", "plain"),
    ],
)
def test_strip_control_leaves_one_line_of_text(raw: str, clean: str) -> None:
    assert strip_control(raw) == clean


def test_each_format_neutralises_its_markup() -> None:
    assert slack_text("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert html_text('<a href="x">\'') == "&lt;a href=&quot;x&quot;&gt;&#x27;"
    assert header_text("m\r\nBcc: x@y") == "m Bcc: x@y"
    assert plain_text("<b>x</b>\n") == "\u2039b\u203ax\u2039/b\u203a"


def test_links_are_ours_or_text() -> None:
    assert slack_link("https://h/a?x=1&y=2", "run") == "<https://h/a?x=1&amp;y=2|run>"
    # a URL that would close the link or add a label is percent-encoded
    assert slack_link("https://h/a|b>c <d", "run") == "<https://h/a%7Cb%3Ec%20%3Cd|run>"
    assert slack_link("javascript:alert(1)", "run") == "run: javascript:alert(1)"
    assert html_href('https://h/"onmouseover=x') == "https://h/%22onmouseover=x"
    assert html_href("javascript:alert(1)") is None and html_href("data:text/html,x") is None


def test_markdown_text_leaves_no_markup_a_model_id_could_open() -> None:
    from modelwatch.untrusted import markdown_text

    hostile = "m`x](javascript:alert(1)) ![i](http://e/x.png) **b** <a>\n# head"
    got = markdown_text(hostile)
    assert "\n" not in got and "](" not in got and "![" not in got
    assert all(got[i - 1] == "\\" for i, c in enumerate(got) if c in "`*[]()#<>!")
