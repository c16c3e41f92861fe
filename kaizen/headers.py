"""Response headers Django does not set itself: Permissions-Policy (settings.PERMISSIONS_POLICY)
turns off the browser features the app never uses, on every page, fragment and API answer."""

from django.conf import settings


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
