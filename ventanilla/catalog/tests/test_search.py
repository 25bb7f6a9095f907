"""Search over the published catalogue (``selectors.procedure_search``): ranking, accents, stems, typos,
filters, facets and pagination. The same assertions run on SQLite (stems) and PostgreSQL (FTS + trigram)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from conftest import make_procedure
from ventanilla.catalog.demo_loader import load_demo
from ventanilla.catalog.models import Procedure
from ventanilla.catalog.search import MAX_QUERY_LENGTH
from ventanilla.catalog.selectors import SearchFilters, SearchResult, procedure_search
from ventanilla.catalog.services import ChannelData
from ventanilla.core.models import Institution
from ventanilla.core.text import fold

ISSUE_QUERIES = ["licencia de conducir", "licencias conducir", "LICENCIA DE CONDUCÍR"]
LICENCES = {"licencia-de-conducir", "renovacion-licencia-de-conducir", "duplicado-licencia-de-conducir"}
PUBLISHED = LICENCES | {"certificado-de-nacimiento", "cedula-de-identidad"}
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _in_person(office: str) -> ChannelData:
    return ChannelData(channel="presencial", offices=[office])


def _online(url: str = "https://tramites.example.bo/iniciar") -> ChannelData:
    return ChannelData(channel="en_linea", url=url)


@pytest.fixture
def catalogue(institution_a: Institution, institution_b: Institution) -> dict[str, Procedure]:
    """Five published procedures across two institutions, plus a draft and an archived one that match."""
    made = [
        make_procedure(
            institution_a,
            "licencia-de-conducir",
            "Licencia de conducir",
            category="vehiculos-y-transporte",
            keywords="brevet",
            life_events=["vehiculo"],
            channels=[_in_person("INSTA-SEDE"), _online()],
            digitisation_level=4,
        ),
        make_procedure(
            institution_a,
            "renovacion-licencia-de-conducir",
            "Renovación de licencia de conducir",
            category="vehiculos-y-transporte",
            life_events=["vehiculo"],
            channels=[_in_person("INSTA-SEDE")],
            digitisation_level=3,
        ),
        make_procedure(
            institution_b,
            "duplicado-licencia-de-conducir",
            "Duplicado de licencia de conducir",
            category="vehiculos-y-transporte",
            cost_amount=None,
            currency="",
            channels=[_in_person("INSTB-SEDE"), ChannelData(channel="telefonico", phone="800-10-1234")],
            digitisation_level=1,
        ),
        make_procedure(
            institution_b,
            "certificado-de-nacimiento",
            "Certificado de nacimiento",
            category="familia-y-registro-civil",
            cost_amount=None,
            currency="",
            life_events=["nacimiento"],
            channels=[_online("https://registro.example.bo")],
            digitisation_level=4,
        ),
        make_procedure(
            institution_a,
            "cedula-de-identidad",
            "Cédula de identidad",
            category="identidad-y-documentos",
            channels=[_in_person("INSTA-SEDE")],
            digitisation_level=2,
            cost_amount=Decimal("17.00"),
        ),
        make_procedure(
            institution_a,
            "licencia-de-conducir-provisional",
            "Licencia de conducir provisional",
            status="borrador",
            category="vehiculos-y-transporte",
            digitisation_level=4,
            cost_amount=None,
            currency="",
        ),
        make_procedure(
            institution_b,
            "licencia-de-conducir-antigua",
            "Licencia de conducir (formato antiguo)",
            status="archivado",
            category="vehiculos-y-transporte",
            digitisation_level=4,
            cost_amount=None,
            currency="",
        ),
    ]
    return {p.slug: p for p in made}


def search(q: str = "", **kwargs: Any) -> SearchResult:
    page = kwargs.pop("page", 1)
    page_size = kwargs.pop("page_size", None)
    return procedure_search(SearchFilters(q=q, **kwargs), page=page, page_size=page_size)


def slugs(result: SearchResult) -> list[str]:
    return [p.slug for p in result.items]


def facet(result: SearchResult, name: str) -> dict[str, int]:
    return {f.value: f.count for f in result.facets[name]}


# ----------------------------------------------------------------------------------------------- ranking


@pytest.mark.parametrize("q", ISSUE_QUERIES)
def test_issue_queries_rank_the_exact_procedure_first(catalogue: dict[str, Procedure], q: str) -> None:
    result = search(q)
    assert slugs(result)[0] == "licencia-de-conducir"
    assert set(slugs(result)) == LICENCES  # the renewal and duplicate still match; nothing else does
    assert result.count == 3
    assert result.corrected_query is None


def test_keyword_synonym_finds_the_procedure(catalogue: dict[str, Procedure]) -> None:
    assert slugs(search("brevet")) == ["licencia-de-conducir"]


@pytest.mark.parametrize("q", ["cedula", "CÉDULA", "cédula de identidad", "Cedula Identidad"])
def test_search_ignores_accents_and_case(catalogue: dict[str, Procedure], q: str) -> None:
    # Every procedure lists "Cédula de identidad vigente" as a requirement, so all of them match; the one
    # whose *name* matches must come first.
    result = search(q)
    assert slugs(result)[0] == "cedula-de-identidad"
    assert result.corrected_query is None


def test_accented_query_matches_unaccented_storage_and_back(catalogue: dict[str, Procedure]) -> None:
    assert slugs(search("renovacion"))[0] == "renovacion-licencia-de-conducir"
    assert slugs(search("RENOVACIÓN"))[0] == "renovacion-licencia-de-conducir"


@pytest.mark.parametrize(
    ("q", "expected_first", "expected_set"),
    [
        ("licencias", "licencia-de-conducir", LICENCES),
        ("licencia", "licencia-de-conducir", LICENCES),
        ("certificados nacimientos", "certificado-de-nacimiento", {"certificado-de-nacimiento"}),
        ("duplicados", "duplicado-licencia-de-conducir", {"duplicado-licencia-de-conducir"}),
    ],
)
def test_search_matches_plural_and_singular(
    catalogue: dict[str, Procedure], q: str, expected_first: str, expected_set: set[str]
) -> None:
    result = search(q)
    assert slugs(result)[0] == expected_first
    assert set(slugs(result)) == expected_set
    assert result.corrected_query is None


def test_typos_are_tolerated_and_flagged(catalogue: dict[str, Procedure]) -> None:
    result = search("licensia de condusir")
    assert result.items, "a two-typo query must still find the licence"
    assert slugs(result)[0] == "licencia-de-conducir"
    assert result.corrected_query  # the page tells the citizen the results are approximate
    assert set(slugs(result)) <= LICENCES


def test_a_query_that_matches_nothing_returns_no_results(catalogue: dict[str, Procedure]) -> None:
    result = search("helicóptero submarino")
    assert result.items == []
    assert result.count == 0
    assert result.facets == {}


# --------------------------------------------------------------------------------------------- visibility


@pytest.mark.parametrize(
    "q", ["licencia de conducir", "provisional", "formato antiguo", "", "licensia condusir"]
)
def test_drafts_and_archived_procedures_never_appear(catalogue: dict[str, Procedure], q: str) -> None:
    result = search(q, page_size=100)
    found = set(slugs(result))
    assert "licencia-de-conducir-provisional" not in found
    assert "licencia-de-conducir-antigua" not in found
    assert found <= PUBLISHED


def test_in_review_procedure_is_not_searchable(
    catalogue: dict[str, Procedure], institution_a: Institution
) -> None:
    make_procedure(
        institution_a,
        "licencia-de-conducir-en-revision",
        "Licencia de conducir en revisión",
        status="en_revision",
    )
    assert "licencia-de-conducir-en-revision" not in slugs(search("licencia conducir revision"))


def test_empty_query_lists_every_published_procedure(catalogue: dict[str, Procedure]) -> None:
    result = search("", page_size=100)
    assert result.count == 5
    assert set(slugs(result)) == PUBLISHED
    assert result.corrected_query is None
    # Names that start with plain letters are in alphabetical order.
    plain = [p.name for p in result.items if p.name[1].isascii()]
    assert plain == sorted(plain)
    assert plain[0] == "Certificado de nacimiento" and plain[-1] == "Renovación de licencia de conducir"


def test_empty_query_alphabetical_order_ignores_accents(catalogue: dict[str, Procedure]) -> None:
    names = [p.name for p in search("", page_size=100).items]
    assert names == sorted(names, key=fold)
    assert names[0] == "Cédula de identidad"


@pytest.mark.parametrize("q", ["de", "de la", "el la los", "Y"])
def test_stop_word_only_query_behaves_like_an_empty_query(catalogue: dict[str, Procedure], q: str) -> None:
    result = search(q, page_size=100)
    assert result.corrected_query is None
    assert set(slugs(result)) == PUBLISHED


@pytest.mark.parametrize("q", ["!!!", "¿?¡!", "   ", "---", "&&& ||| !!", "'\"%_\\"])
def test_punctuation_only_query_lists_everything_without_error(
    catalogue: dict[str, Procedure], q: str
) -> None:
    result = search(q, page_size=100)
    assert set(slugs(result)) == PUBLISHED
    assert result.corrected_query is None


@pytest.mark.parametrize(
    "q", ['"licencia" OR -conducir', "licencia & !conducir", "cedula%", "_", "lic:*", "(("]
)
def test_query_syntax_characters_do_not_error_nor_leak(catalogue: dict[str, Procedure], q: str) -> None:
    # websearch syntax (quotes, OR, -), tsquery operators and LIKE wildcards are user text, never an error.
    result = search(q, page_size=100)
    assert set(slugs(result)) <= PUBLISHED
    assert result.count == len(result.items)


def test_very_long_query_is_truncated_not_rejected(catalogue: dict[str, Procedure]) -> None:
    long_query = "licencia de conducir " + "a " * 2500  # 5021 characters; "a" is a stop word
    assert len(long_query) > 5000
    result = search(long_query)
    assert slugs(result)[0] == "licencia-de-conducir"


def test_very_long_single_word_query_does_not_error(catalogue: dict[str, Procedure]) -> None:
    result = search("x" * 5000)
    assert result.count == 0
    assert MAX_QUERY_LENGTH < 5000


# ---------------------------------------------------------------------------------------- filters, facets


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            {"institution": "INSTA"},
            {"licencia-de-conducir", "renovacion-licencia-de-conducir", "cedula-de-identidad"},
        ),
        ({"institution": "instb"}, {"duplicado-licencia-de-conducir", "certificado-de-nacimiento"}),
        ({"category": "vehiculos-y-transporte"}, LICENCES),
        ({"category": "familia-y-registro-civil"}, {"certificado-de-nacimiento"}),
        ({"channel": "en_linea"}, {"licencia-de-conducir", "certificado-de-nacimiento"}),
        ({"channel": "telefonico"}, {"duplicado-licencia-de-conducir"}),
        ({"channel": "presencial"}, PUBLISHED - {"certificado-de-nacimiento"}),
        ({"online": True}, {"licencia-de-conducir", "certificado-de-nacimiento"}),
        ({"free": True}, {"duplicado-licencia-de-conducir", "certificado-de-nacimiento"}),
        ({"life_event": "vehiculo"}, {"licencia-de-conducir", "renovacion-licencia-de-conducir"}),
        ({"life_event": "nacimiento"}, {"certificado-de-nacimiento"}),
        ({"level": 3}, {"renovacion-licencia-de-conducir"}),
        ({"online": True, "free": True}, {"certificado-de-nacimiento"}),
        ({"institution": "INSTA", "category": "identidad-y-documentos"}, {"cedula-de-identidad"}),
        ({"institution": "NOEXISTE"}, set()),
    ],
)
def test_filters_without_query(
    catalogue: dict[str, Procedure], filters: dict[str, Any], expected: set[str]
) -> None:
    result = search("", page_size=100, **filters)
    assert set(slugs(result)) == expected
    assert result.count == len(expected)


def test_filters_combine_with_the_query(catalogue: dict[str, Procedure]) -> None:
    result = search("licencia de conducir", institution="INSTB")
    assert slugs(result) == ["duplicado-licencia-de-conducir"]
    result = search("licencia de conducir", online=True)
    assert slugs(result) == ["licencia-de-conducir"]
    result = search("licencia de conducir", free=True)
    assert slugs(result) == ["duplicado-licencia-de-conducir"]
    assert search("cedula", category="familia-y-registro-civil").items[0].slug == "certificado-de-nacimiento"


def test_facet_counts_for_the_whole_catalogue(catalogue: dict[str, Procedure]) -> None:
    result = search("")
    assert facet(result, "institution") == {"INSTA": 3, "INSTB": 2}
    labels = {f.value: f.label for f in result.facets["institution"]}
    assert labels == {"INSTA": "SIP", "INSTB": "GMP"}
    assert result.facets["institution"][0].value == "INSTA"  # most procedures first
    assert facet(result, "category") == {
        "vehiculos-y-transporte": 3,
        "familia-y-registro-civil": 1,
        "identidad-y-documentos": 1,
    }
    assert facet(result, "channel") == {"presencial": 4, "en_linea": 2, "telefonico": 1}
    assert facet(result, "online") == {"1": 2}
    assert facet(result, "free") == {"1": 2}


def test_facet_counts_follow_the_query_and_filters(catalogue: dict[str, Procedure]) -> None:
    result = search("licencia de conducir")
    assert facet(result, "institution") == {"INSTA": 2, "INSTB": 1}
    assert facet(result, "category") == {"vehiculos-y-transporte": 3}
    assert facet(result, "channel") == {"presencial": 3, "en_linea": 1, "telefonico": 1}
    assert facet(result, "online") == {"1": 1}
    assert facet(result, "free") == {"1": 1}

    filtered = search("licencia de conducir", institution="INSTA")
    assert facet(filtered, "institution") == {"INSTA": 2}
    assert facet(filtered, "free") == {"1": 0}


def test_facets_ignore_drafts(catalogue: dict[str, Procedure]) -> None:
    # The draft and archived licences are level 4 and free: they must not inflate the counts.
    result = search("licencia")
    assert facet(result, "online") == {"1": 1}
    assert facet(result, "free") == {"1": 1}


def test_facets_can_be_skipped(catalogue: dict[str, Procedure]) -> None:
    result = procedure_search(SearchFilters(), with_facets=False)
    assert result.facets == {}
    assert result.count == 5


# --------------------------------------------------------------------------------------------- pagination


def test_pagination_splits_results_in_order(catalogue: dict[str, Procedure]) -> None:
    pages = [search("", page=n, page_size=2) for n in (1, 2, 3)]
    assert [r.num_pages for r in pages] == [3, 3, 3]
    assert [len(r.items) for r in pages] == [2, 2, 1]
    everything = [s for r in pages for s in slugs(r)]
    assert len(everything) == len(set(everything)) == 5
    assert everything == slugs(search("", page_size=100))
    assert (pages[0].has_previous, pages[0].has_next) == (False, True)
    assert (pages[2].has_previous, pages[2].has_next) == (True, False)


@pytest.mark.parametrize(("requested", "expected"), [(99, 3), (4, 3), (0, 1), (-5, 1)])
def test_page_out_of_range_is_clamped(catalogue: dict[str, Procedure], requested: int, expected: int) -> None:
    result = search("", page=requested, page_size=2)
    assert result.page == expected
    assert result.items, "a clamped page is never empty"
    assert slugs(result) == slugs(search("", page=expected, page_size=2))


def test_empty_result_has_one_empty_page(db: Any) -> None:
    result = search("licencia", page=7)
    assert (result.page, result.num_pages, result.count, result.items) == (1, 1, 0, [])


# ------------------------------------------------------------------------------------- real Bolivian data


@pytest.mark.django_db
def test_issue_queries_on_the_full_bolivian_demo_data() -> None:
    load_demo()
    published = Procedure.objects.filter(status=Procedure.Status.PUBLISHED).count()
    assert published >= 150
    for q in ISSUE_QUERIES:
        result = search(q)
        assert slugs(result)[0] == "licencia-de-conducir", (q, slugs(result)[:5])
        assert {"renovacion-licencia-de-conducir", "duplicado-licencia-de-conducir"} <= set(slugs(result)), q
    typo = search("licensia de condusir")
    assert slugs(typo)[0] == "licencia-de-conducir"
    assert typo.corrected_query
    assert slugs(search("cedula de identidad"))[0].startswith("cedula")
    # Nothing unpublished leaks out of a broad search of the real data.
    everything = search("", page_size=100)
    assert everything.count == published
    assert all(p.status == Procedure.Status.PUBLISHED for p in everything.items)
