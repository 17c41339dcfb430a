"""The API's serializers, a module per role; `from moderation.serializers import X`
finds them all here."""

from moderation.serializers.audit import (
    ActionFilterErrorsSerializer,
    ActionFilterSerializer,
    ActionSerializer,
)
from moderation.serializers.cases import (
    CASE_ORDERINGS,
    CaseArticleSerializer,
    CaseDetailSerializer,
    CaseImageSerializer,
    CaseQueueFilterErrorsSerializer,
    CaseQueueFilterSerializer,
    CaseSerializer,
    CaseSourceSerializer,
    ReasonCountSerializer,
)
from moderation.serializers.common import field_errors_serializer, number_field
from moderation.serializers.decisions import DecisionErrorsSerializer, DecisionInputSerializer
from moderation.serializers.reporters import (
    CaseReportSerializer,
    ReporterMuteErrorsSerializer,
    ReporterMuteInputSerializer,
    ReporterRecordSerializer,
    ReporterSerializer,
)
from moderation.serializers.reports import ReportErrorsSerializer, ReportInputSerializer
from moderation.serializers.workspace import (
    ClaimSerializer,
    ConflictSerializer,
    QueueSummarySerializer,
    conflict_body,
)

__all__ = [
    "CASE_ORDERINGS",
    "ActionFilterErrorsSerializer",
    "ActionFilterSerializer",
    "ActionSerializer",
    "CaseArticleSerializer",
    "CaseDetailSerializer",
    "CaseImageSerializer",
    "CaseQueueFilterErrorsSerializer",
    "CaseQueueFilterSerializer",
    "CaseReportSerializer",
    "CaseSerializer",
    "CaseSourceSerializer",
    "ClaimSerializer",
    "ConflictSerializer",
    "DecisionErrorsSerializer",
    "DecisionInputSerializer",
    "QueueSummarySerializer",
    "ReasonCountSerializer",
    "ReportErrorsSerializer",
    "ReportInputSerializer",
    "ReporterMuteErrorsSerializer",
    "ReporterMuteInputSerializer",
    "ReporterRecordSerializer",
    "ReporterSerializer",
    "conflict_body",
    "field_errors_serializer",
    "number_field",
]
