from rest_framework import permissions

from entities.selectors import organization_for_user


class HasOrganization(permissions.BasePermission):
    """Authenticated, and acting for an organization (superusers act for all)."""

    message = "Authentication required: an API key or a user of an organization."

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return bool(user.is_superuser or organization_for_user(user) is not None)
