from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from funnel.api import api
from funnel.members.forms import LoginForm
from kaizen.health import healthz

urlpatterns = [
    # No login, no HTTPS redirect (SECURE_REDIRECT_EXEMPT): load balancers and container probes.
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("kaizen.dashboard.urls")),
    # Before teams/<slug>/: /teams/new/ is a page, not a team.
    path("", include("funnel.members.urls")),
    path("teams/<slug:slug>/", include("kaizen.app_urls")),
    path("", include("funnel.urls")),
]

# A refused page explains what the role may do instead, in the app's frame (also with DEBUG off).
handler403 = "kaizen.errors.permission_denied"
# A database that cannot be reached answers 503 with Retry-After (kaizen.unavailable), also when
# the error came from a middleware; anything else gets the 500 page.
handler500 = "kaizen.unavailable.server_error"
