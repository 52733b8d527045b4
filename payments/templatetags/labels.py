from django import template

from payments import labels

register = template.Library()

# {{ event.status|status_label }}, {{ order.payment_method|method_label }}
register.filter("status_label", labels.status_label)
register.filter("method_label", labels.method_label)
