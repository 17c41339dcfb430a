"""The moderators' workspace in Django admin, a module per role.

The queue is the ImageCase changelist (cases); the case page adds the reports, the
decision buttons and the audit trail (case_page, case_views); the queue's actions make
the same decisions on many cases (case_actions). Every state change goes through
moderation.services and writes one audit row. Importing the modules registers their
ModelAdmins, which is all admin.autodiscover() needs of this package.
"""

from moderation.admin import audit, bans, cases, policies, preferences, reporters

__all__ = ["audit", "bans", "cases", "policies", "preferences", "reporters"]
