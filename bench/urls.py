"""The project's routes plus `/bench/floor/`, the floor the HTTP benches measure against.

The floor is a bare Django view behind the same middleware (sessions, locale, CSRF, auth)
and on the same gunicorn, PostgreSQL and connection settings as the app: it reads the JSON
body and inserts one row into `bench_floor` (a table bench/harness/stack.py creates), in
autocommit, then answers a small JSON 201. What an endpoint costs beyond it is its own work.
"""

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from newsroom.urls import urlpatterns as project_urlpatterns


@csrf_exempt
@require_POST
def floor_view(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    payload = str(body.get("reason", "")) if isinstance(body, dict) else ""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (payload) VALUES (%s) RETURNING id", [payload])
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


# First, before the project's catch-all media route.
urlpatterns = [path("bench/floor/", floor_view, name="bench-floor"), *project_urlpatterns]
