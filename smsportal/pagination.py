from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10**9


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset paging with a cap, so a huge number is a 400 or a clamp, never a database error."""

    default_limit = 50
    max_limit = 500

    def get_offset(self, request):
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({"offset": [f"must be at most {MAX_OFFSET}"]})
        return offset
