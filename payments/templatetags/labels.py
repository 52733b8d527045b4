from django import template

from payments import labels

register = template.Library()

# {{ event.status|status_label }}, {{ order.payment_method|method_label }}
register.filter("status_label", labels.status_label)
register.filter("method_label", labels.method_label)
register.filter("provider_label", labels.provider_label)
# {{ event|event_text }}: the portal's sentence for the event in the reader's language
register.filter("event_text", labels.event_text)
