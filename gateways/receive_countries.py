"""Countries where receiving SMS works, as BioT's documentation lists them ("Receiving SMS Messages").

Sending works worldwide; replies only come back to a local number in these countries. The admin
warns when a gateway's inbound number is in a country outside this list (`inbound_number_warning`).
"""

# ISO 3166-1 alpha-2 → the seed's name. Australia's entry excludes the Sydney region.
RECEIVE_COUNTRIES: dict[str, str] = {
    "AU": "Australia (except Sydney region)",
    "AT": "Austria",
    "BE": "Belgium",
    "BR": "Brazil",
    "BG": "Bulgaria",
    "CA": "Canada",
    "CL": "Chile",
    "CN": "China",
    "CO": "Colombia",
    "CK": "Cook Islands",
    "CZ": "Czech Republic",
    "DK": "Denmark",
    "DO": "Dominican Republic",
    "EC": "Ecuador",
    "EG": "Egypt",
    "EE": "Estonia",
    "FI": "Finland",
    "FR": "France",
    "DE": "Germany",
    "GU": "Guam",
    "HK": "Hong Kong",
    "HU": "Hungary",
    "IN": "India",
    "IE": "Ireland",
    "IL": "Israel",
    "IT": "Italy",
    "JP": "Japan",
    "JE": "Jersey",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "MY": "Malaysia",
    "MX": "Mexico",
    "MA": "Morocco",
    "MM": "Myanmar",
    "NL": "Netherlands",
    "NZ": "New Zealand",
    "NO": "Norway",
    "PE": "Peru",
    "PH": "Philippines",
    "PL": "Poland",
    "PT": "Portugal",
    "PR": "Puerto Rico",
    "RO": "Romania",
    "RU": "Russia",
    "SG": "Singapore",
    "SO": "Somalia",
    "ZA": "South Africa",
    "ES": "Spain",
    "SE": "Sweden",
    "TW": "Taiwan",
    "TH": "Thailand",
    "UA": "Ukraine",
    "AE": "UAE",
    "GB": "UK",
    "US": "USA",
    "UY": "Uruguay",
    # The seed's "Virgin Islands": both the US and the British islands.
    "VI": "Virgin Islands (US)",
    "VG": "Virgin Islands (British)",
}


def receive_supported(country: str) -> bool:
    return (country or "").upper() in RECEIVE_COUNTRIES


def inbound_number_warning(country: str) -> str:
    """A warning for an inbound number's country, or "" when replies from there are known to work."""
    if receive_supported(country):
        return ""
    return (
        f"Receiving SMS is not listed as available in {country or 'this number’s country'}; replies to this "
        "number may never arrive. Countries with receiving: " + ", ".join(sorted(RECEIVE_COUNTRIES))
    )
