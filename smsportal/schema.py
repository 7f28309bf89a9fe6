"""OpenAPI schema hooks."""


def dhis2_paths_without_slash(result, generator, request, public):
    """DHIS2 routes answer with and without a trailing slash; document them as DHIS2 does, without."""
    paths = result.get("paths", {})
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/api/") and not path.startswith("/api/v1/") else path): item
        for path, item in paths.items()
    }
    return result
