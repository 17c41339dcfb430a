"""The admin's lists take their filters from the query string, and their actions the
selected ids from the form, as they come: Django checks the names of the lookups, not
whether the database (or Python's calendar) can take their values, and the errors surface
when the query runs, as 500s. Every ModelAdmin of the project is an InputCheckedAdmin, and
newsroom/urls.py makes every other one on the site one too (Django's users and groups, DRF's
tokens).
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.utils.translation import gettext as _

# What a filter value the list cannot apply raises: Python's calendar refusing a date part
# (?created_at__year=2147483648, a year 0, the year after 9999 that a year's range ends
# on), and the database refusing a value (an invalid pattern in ?comment__regex=[, a
# number out of its column's range). A NUL never gets here (newsroom.middleware).
UNUSABLE_FILTER_VALUE = (DataError, OverflowError, ValueError)


class InputCheckedChangeList(ChangeList):
    """A list whose filter values the database or the calendar cannot take is answered
    as Django's admin answers an unknown filter (IncorrectLookupParameters): the list
    again without its filters."""

    def get_filters(self, request):
        # The date hierarchy's bounds are computed here (datetime(year, month, day)).
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error

    def get_results(self, request):
        # The queries run here. A savepoint, so that the refused query leaves the
        # connection usable inside a transaction.
        try:
            with transaction.atomic():
                super().get_results(request)
        except UNUSABLE_FILTER_VALUE as error:
            raise IncorrectLookupParameters(error) from error


class InputCheckedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list refuses filter values it cannot apply, and whose actions
    refuse selected ids that are not ids (Django filters `pk__in` with them as they are,
    and the action's query fails)."""

    def get_changelist(self, request, **kwargs):
        return InputCheckedChangeList

    def response_action(self, request, queryset):
        pk = self.opts.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.to_python(value)
        except ValidationError:
            # Django's own words for a selection of nothing: nothing was changed.
            self.message_user(
                request,
                _(
                    "Items must be selected in order to perform "
                    "actions on them. No items have been changed."
                ),
                messages.WARNING,
            )
            return None
        return super().response_action(request, queryset)


def check_inputs_of_every_model_admin(site: admin.AdminSite) -> None:
    """Register again, as an InputCheckedAdmin, every ModelAdmin on `site` that is not one:
    those of Django's and other apps, whose lists take filters just as loosely."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, InputCheckedAdmin):
            continue
        admin_class = type(model_admin)
        site.unregister(model)
        site.register(model, type(admin_class.__name__, (InputCheckedAdmin, admin_class), {}))
