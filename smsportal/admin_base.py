"""The one place the admin's base classes come from.

Every ModelAdmin and inline in the project derives from these aliases (through entities/tenancy.py),
so the admin's look can be switched in one line (e.g. to django-unfold's classes).
"""

from django.contrib import admin

BaseModelAdmin = admin.ModelAdmin
BaseTabularInline = admin.TabularInline
BaseStackedInline = admin.StackedInline
