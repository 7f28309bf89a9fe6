"""Staff portal pages, one module per page (portal/urls.py maps each URL to its view).

Every view is wrapped in `shared.staff_view`, which resolves the staff member's organization first;
the views read only through it, so a guessed id of another organization's patient, thread or dose is
a 404.
"""
