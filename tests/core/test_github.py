"""The GitHub client's one pagination loop, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import inspect
import itertools
import urllib.parse

import pytest

from ci_tasks.core.artifacts import ArtifactsClient
from ci_tasks.core.errors import ConfigError, ServiceUnavailable
from ci_tasks.core.github import GitHub, GitHubClient, trim_listing
from tests.support.github_fake import local_client
from tests.support.github_memory import MemoryGitHub
from tests.support.localserver import Request, Response, serve

TOKEN = "ghp_secret-for-pagination"


class Listing:
    """``GET /things``: *count* things, *size* a page, each page's Link to the next."""

    def __init__(self, count: int, size: int, faults: dict[int, Response] | None = None) -> None:
        self.count, self.size, self.base = count, size, ""
        self.faults = dict(faults or {})
        self.back_to_two = False
        """When set, the last page's ``next`` points back to page 2."""

    def __call__(self, request: Request) -> Response:
        url = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        page = int(query.get("page", "1"))
        if page in self.faults:
            return self.faults.pop(page)
        start = (page - 1) * self.size
        things = [{"id": i, "name": f"t{i}", "noise": "x" * 10} for i in range(self.count)]
        body = {"total_count": self.count, "things": things[start : start + self.size]}
        headers = {"Content-Type": "application/json"}
        last = start + self.size >= self.count
        if not last or self.back_to_two:
            following = 2 if last else page + 1
            next_query = urllib.parse.urlencode({**query, "page": following})
            headers["Link"] = f'<{self.base}{url.path}?{next_query}>; rel="next"'
        return Response(200, body, headers)


def client(server, handler, **kwargs) -> GitHubClient:
    return local_client(GitHubClient, server, handler, **kwargs)


def things(api: GitHubClient, **kwargs):
    return api.pages("/things", {"per_page": 2, "q": "a b"}, key="things", cut=("id",), **kwargs)


def test_pages_follow_the_link_header_under_the_configured_api_url():
    """Every page is reached by its Link, the query is encoded, each item cut to the fields."""
    listing = Listing(count=5, size=2)
    with serve(listing) as server:
        pages = list(things(client(server, listing)))
    assert pages == [[{"id": 0}, {"id": 1}], [{"id": 2}, {"id": 3}], [{"id": 4}]]
    assert [r.path for r in server.requests] == [
        "/things?per_page=2&q=a+b",
        "/things?per_page=2&q=a+b&page=2",
        "/things?per_page=2&q=a+b&page=3",
    ]


def test_a_caller_that_stops_early_asks_for_no_more_pages():
    """The pages are lazy: taking the first asks once."""
    listing = Listing(count=50, size=2)
    with serve(listing) as server:
        first = list(itertools.islice(things(client(server, listing)), 1))
    assert first == [[{"id": 0}, {"id": 1}]]
    assert len(server.requests) == 1


def test_a_next_link_already_followed_ends_the_listing():
    """A server whose last page links back to an earlier one does not make the client loop."""
    listing = Listing(count=5, size=2)
    listing.back_to_two = True
    with serve(listing) as server:
        pages = list(things(client(server, listing)))
    assert pages == [[{"id": 0}, {"id": 1}], [{"id": 2}, {"id": 3}], [{"id": 4}]]
    assert len(server.requests) == 3


def test_a_server_error_in_the_middle_of_a_listing_is_retried():
    """A 502 on page 2 is retried and the listing goes on."""
    listing = Listing(count=5, size=2, faults={2: Response(502, "bad gateway")})
    with serve(listing) as server:
        pages = list(things(client(server, listing)))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert len(server.requests) == 4


def test_a_refusal_on_a_later_page_names_the_repository_never_the_token():
    """A 401 on page 2 is a one-line ConfigError without the token, sent only as a header."""
    listing = Listing(count=5, size=2, faults={2: Response(401, {"message": "Bad credentials"})})
    with serve(listing) as server:
        with pytest.raises(ConfigError, match="401 unauthorised for octo/app") as info:
            list(things(client(server, listing, token=TOKEN)))
        assert server.requests[1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(info.value)
    assert "\n" not in str(info.value)


def test_an_answer_without_its_list_is_an_error_unless_missing_is_allowed():
    """The listing's list missing: 'not the JSON expected', or with missing_ok an empty page."""
    with serve(lambda _r: Response(200, {"message": "moved"})) as server:
        api = client(server, Listing(0, 1))
        with pytest.raises(ServiceUnavailable, match="the answer has no things list"):
            list(things(api))
        assert list(things(api, missing_ok=True)) == [[]]


def test_remembered_pages_are_asked_again_with_their_etags():
    """With remember, each page's ETag is kept and the next client asks conditionally."""

    def tagged(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, {"things": [{"id": 1}]}, {"ETag": '"v1"'})

    with serve(tagged) as server:
        first = client(server, Listing(0, 1))
        assert list(things(first, remember=True)) == [[{"id": 1}]]
        again = client(server, Listing(0, 1), cached=first.fresh)
        assert list(things(again, remember=True)) == [[{"id": 1}]]
    assert again.not_modified == 1


@pytest.mark.parametrize(
    ("body", "key", "kept"),
    [
        ({"total_count": 2, "runs": [{"id": 1, "x": 0}, "junk"]}, "runs", [{"id": 1}]),
        ([{"id": 3, "x": 0}, {"x": 1}], None, [{"id": 3}]),
        ({"total_count": 0, "runs": []}, "runs", []),
    ],
)
def test_trim_listing_keeps_the_fields_of_dict_items(body, key, kept):
    """Items that are not objects are dropped; objects keep only the fields asked for."""

    def cut(item):
        return {"id": item["id"]} if "id" in item else None

    trimmed = trim_listing(body, key, ("id",) if key else cut)
    assert trimmed[key or "items"] == kept


@pytest.mark.parametrize("body", [None, [], {"runs": None}, {"other": []}, "text"])
def test_trim_listing_without_the_list(body):
    """A missing list is a ValueError, or with missing_ok no items."""
    with pytest.raises(ValueError, match="the answer has no runs list"):
        trim_listing(body, "runs", ("id",))
    assert trim_listing(body, "runs", ("id",), missing_ok=True)["runs"] == []


def _members(cls: type) -> dict[str, inspect.Signature | None]:
    names = [n for n in vars(GitHub) if not n.startswith("_")]
    found = {}
    for name in names:
        member = inspect.getattr_static(cls, name, None)
        if callable(member):
            found[name] = inspect.signature(member)
        else:
            found[name] = None  # an attribute or a property: present is what counts
    return found


@pytest.mark.parametrize(
    "instance",
    [ArtifactsClient(repository="octo/app", http=None), MemoryGitHub()],
    ids=["http", "memory"],
)
def test_implementations_answer_the_whole_interface(instance):
    """The HTTP client and the in-memory one have every member of GitHub, alike in signature."""
    implementation = type(instance)
    for name, signature in _members(GitHub).items():
        assert hasattr(instance, name), name
        if signature is not None:
            assert _members(implementation)[name] == signature, name
