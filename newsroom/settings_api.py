"""The OpenAPI schema and its Swagger UI (drf-spectacular); newsroom/settings.py imports
this."""

# OpenAPI at /api/schema/, Swagger UI at /api/docs/ with its assets served
# from this site (drf-spectacular-sidecar): the site loads nothing from a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Signalement API",
    "DESCRIPTION": (
        "Readers' API: articles, images, and the report of an image (anonymous allowed). "
        "Moderators' API under /api/moderation/: the queue, a case with its reports and "
        "audit trail, decisions, and the audit log; it needs a moderator's session or "
        "token (`Authorization: Token <key>`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Swagger UI would otherwise fetch a badge from the public validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # One component per choice list, named after it, wherever a field uses it.
    "ENUM_NAME_OVERRIDES": {
        "ReasonEnum": "moderation.models.Reason",
        "CaseStateEnum": "moderation.models.CaseState",
        "ReportOutcomeEnum": "moderation.models.ReportOutcome",
        "ActionKindEnum": "moderation.models.ActionKind",
        "VisibilityEnum": "articles.models.Image.Visibility",
    },
}
