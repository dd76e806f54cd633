"""``GET /docs``: the interactive API page, usable when the API needs a bearer token.

The page itself holds nothing secret (it is Swagger UI pointed at ``/openapi.json``), so it
is served without the token; the API description and every operation stay behind it. When
the service has a token, the page asks for it once (or reads it from the address,
``/docs#token=...``, a fragment the browser never sends to a server), keeps it in the
tab's session storage and sends it as ``Authorization: Bearer`` with the description's
request and with every "Try it out". Swagger UI's script and style come from the jsDelivr
CDN, as FastAPI's own page does; where the browser cannot reach it, read the description
with ``curl -H "Authorization: Bearer $VOICEGUARD_TOKEN" http://HOST:PORT/openapi.json``.
"""

from __future__ import annotations

import json

__all__ = ["docs_html"]

_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voiceguard API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="%(css)s"></head>
<body><div id="swagger-ui"></div>
<script src="%(js)s"></script>
<script>
const needToken = %(need)s, key = "voiceguard-token";
let token = "";
if (needToken) {
  if (location.hash.startsWith("#token=")) {
    sessionStorage.setItem(key, decodeURIComponent(location.hash.slice(7)));
    history.replaceState(null, "", location.pathname);
  }
  token = sessionStorage.getItem(key)
    || window.prompt("Bearer token of this voiceguard service (VOICEGUARD_TOKEN)") || "";
  sessionStorage.setItem(key, token);
}
window.ui = SwaggerUIBundle({
  url: %(spec)s, dom_id: "#swagger-ui",
  requestInterceptor: (req) => { if (token) { req.headers["Authorization"] = "Bearer " + token; } return req; },
});
</script></body></html>
"""


def docs_html(openapi_url: str, *, needs_token: bool) -> str:
    """The page (see the module docstring)."""
    return _PAGE % {"css": _CSS, "js": _JS, "need": "true" if needs_token else "false",
                    "spec": json.dumps(openapi_url)}
