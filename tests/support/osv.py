"""An OSV-compatible vulnerability service's answers: one advisory, for requests 2.19.0.

Served with :func:`tests.support.localserver.serve`, it stands in for the service
pip-audit queries (``--osv-url``), which this machine cannot reach.
"""

from __future__ import annotations

from tests.support.localserver import Request, Response

ADVISORY = {
    "id": "GHSA-x84v-xcm2-53pg",
    "aliases": ["CVE-2018-18074"],
    "summary": "Requests sends an HTTP Authorization header to an http URI upon redirect",
    "affected": [
        {
            "package": {"name": "requests", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }
    ],
}


def osv(request: Request) -> Response:
    query = request.json()
    if query["package"]["name"] == "requests" and query["version"] == "2.19.0":
        return Response(200, {"vulns": [ADVISORY]})
    return Response(200, {})
