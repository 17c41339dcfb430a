from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from articles import api as articles_api
from articles import views as articles_views
from common.admin_inputs import check_inputs_of_every_model_admin
from common.api_errors import NotFoundApi
from moderation import api as moderation_api
from moderation import api_workspace
from moderation import views as moderation_views
from moderation.admin import workspace as moderation_workspace
from newsroom import health, metrics

api_patterns = [
    path("api/articles/", articles_api.ArticleListApi.as_view(), name="api-article-list"),
    path(
        "api/articles/<slug:slug>/",
        articles_api.ArticleDetailApi.as_view(),
        name="api-article-detail",
    ),
    path(
        "api/articles/<slug:slug>/images/",
        articles_api.ArticleImageCreateApi.as_view(),
        name="api-article-images",
    ),
    path(
        "api/images/<int:image_id>/",
        articles_api.ImageDetailApi.as_view(),
        name="api-image-detail",
    ),
    path(
        "api/images/<int:image_id>/reports/",
        moderation_api.ImageReportApi.as_view(),
        name="api-image-reports",
    ),
    path(
        "api/moderation/cases/",
        moderation_api.CaseListApi.as_view(),
        name="api-moderation-case-list",
    ),
    path(
        "api/moderation/cases/<int:case_id>/",
        moderation_api.CaseDetailApi.as_view(),
        name="api-moderation-case-detail",
    ),
    path(
        "api/moderation/cases/<int:case_id>/decisions/",
        moderation_api.CaseDecisionApi.as_view(),
        name="api-moderation-case-decisions",
    ),
    path(
        "api/moderation/cases/<int:case_id>/claim/",
        api_workspace.CaseClaimApi.as_view(),
        name="api-moderation-case-claim",
    ),
    path(
        "api/moderation/queue/summary/",
        api_workspace.QueueSummaryApi.as_view(),
        name="api-moderation-queue-summary",
    ),
    path(
        "api/moderation/actions/<int:action_id>/undo/",
        api_workspace.ActionUndoApi.as_view(),
        name="api-moderation-action-undo",
    ),
    path(
        "api/moderation/actions/",
        moderation_api.ActionListApi.as_view(),
        name="api-moderation-action-list",
    ),
    path(
        "api/moderation/reporters/mute/",
        moderation_api.ReporterMuteApi.as_view(),
        name="api-moderation-reporter-mute",
    ),
    path(
        "api/moderation/reporters/unmute/",
        moderation_api.ReporterUnmuteApi.as_view(),
        name="api-moderation-reporter-unmute",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's init script comes from /api/docs/?script, not inline, and the page's
    # styles from a static file: the Content-Security-Policy allows no inline script or style.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api_docs/swagger_ui.html"
        ),
        name="api-docs",
    ),
    # Last: what no route above matches is still answered as the API answers.
    re_path(r"^api/", NotFoundApi.as_view(), name="api-not-found"),
]

page_patterns = [
    path("", articles_views.home, name="home"),
    path("articles/<slug:slug>/", articles_views.article_detail, name="article-detail"),
    path("images/<int:image_id>/report/", moderation_views.image_report, name="image-report"),
    path("i18n/", include("django.conf.urls.i18n")),
]

health_patterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]

# The lists and actions of other apps' ModelAdmins refuse what they cannot take, as the
# project's do (common/admin_inputs.py).
check_inputs_of_every_model_admin(admin.site)

urlpatterns = [
    # The moderators' workspace, and their home in the admin: admin views the admin
    # site's own URLs have no place for (moderation/admin/workspace.py).
    path("admin/", include(moderation_workspace.urls())),
    path("admin/", admin.site.urls),
    *api_patterns,
    *page_patterns,
    *health_patterns,
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(
        re_path(rf"^{media_prefix}(?P<path>.+)$", articles_views.media, name="media")
    )
