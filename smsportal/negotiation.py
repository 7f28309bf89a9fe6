"""Content negotiation with a shortcut for the common API request."""

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answered at once when the client accepts anything.

    Integrations send no `Accept` header or `*/*`, and a view's first renderer is then DRF's own
    answer; parsing the header on every request of the send and webhook paths was measurable.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if accept == "*/*" and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
