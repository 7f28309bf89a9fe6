"""How Django writes dates and times where it chooses (the admin's lists and forms): 24-hour, day
before month, as the portal writes them (portal/templatetags/portal_format.py) — not Django's
English "Dec. 7, 2026, 5:06 p.m.", which drops the minutes on the hour ("8 a.m.").
Input formats are Django's own."""

DATE_FORMAT = "D j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "D j M Y H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
