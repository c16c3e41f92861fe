"""``{% term "slug" "link text" %}``: a link to the term's glossary entry (see funnel.glossary)."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from funnel.glossary.terms import TERMS_BY_SLUG

register = template.Library()


class TermNode(template.Node):
    def __init__(self, slug: str, text: template.base.FilterExpression | None):
        self.slug = slug
        self.text = text

    def render(self, context) -> str:
        entry = TERMS_BY_SLUG[self.slug]
        text = entry.name if self.text is None else self.text.resolve(context)
        href = f"{reverse('glossary')}#{self.slug}"
        return format_html('<a class="term" href="{}" title="{}">{}</a>', href, entry.short, text)


@register.tag
def term(parser, token) -> TermNode:
    bits = token.split_contents()
    if len(bits) not in (2, 3):
        raise template.TemplateSyntaxError('Use {% term "slug" %} or {% term "slug" "text" %}.')
    slug = bits[1]
    if len(slug) < 2 or slug[0] != slug[-1] or slug[0] not in "\"'":
        raise template.TemplateSyntaxError(f"{{% term %}} needs a quoted slug, got {slug}.")
    slug = slug[1:-1]
    if slug not in TERMS_BY_SLUG:
        raise template.TemplateSyntaxError(
            f"No glossary term {slug!r}; add it to funnel/glossary/terms.py or fix the slug."
        )
    text = parser.compile_filter(bits[2]) if len(bits) == 3 else None
    return TermNode(slug, text)
