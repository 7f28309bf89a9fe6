"""The base classes every admin class derives from: django-unfold's, so every page has the product's look.

One place to change the admin theme; admin modules import these names, never unfold directly.
"""

from unfold.admin import ModelAdmin, StackedInline, TabularInline

BaseModelAdmin = ModelAdmin
BaseTabularInline = TabularInline
BaseStackedInline = StackedInline

__all__ = ["BaseModelAdmin", "BaseStackedInline", "BaseTabularInline"]
