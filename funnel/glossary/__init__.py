"""The glossary: one page, /glossary/, explaining every term the app shows, and a template tag
that links a term on any page to its entry.

Usage in a template::

    {% load glossary %}
    {% term "natural-process-limits" "natural process limits" %}   {# link text as written #}
    {% term "xmr-chart" %}                                          {# the entry's own name #}

renders ``<a class="term" href="/glossary/#natural-process-limits" title="...">natural
process limits</a>``: a subtle dotted underline, the one-line meaning as its tooltip. The slug
must be a quoted literal; an unknown slug is a TemplateSyntaxError when the template is loaded
(so every test that renders the page fails loudly), and tests/funnel/glossary checks that
every ``{% term "..." %}`` in templates/ names an entry.

To add a term: a ``Term`` in funnel/glossary/terms.py (slug, name, one-line short meaning,
a few plain sentences). The tag lives in funnel/templatetags/glossary.py (Django finds tag
libraries there); the `.term` style is in static/css/app.css.
"""
