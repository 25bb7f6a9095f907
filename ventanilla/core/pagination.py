"""Page-number pagination for HTML lists, in the shape core/_pagination.html expects (?pagina=N)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


@dataclass
class Pager:
    page: int
    num_pages: int
    count: int

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def paginate(request: HttpRequest, queryset: QuerySet[Any], page_size: int) -> tuple[list[Any], Pager]:
    """One page of ``queryset`` (an invalid or out-of-range ?pagina= gives the nearest valid page)."""
    page = Paginator(queryset, page_size).get_page(request.GET.get("pagina"))
    return list(page.object_list), Pager(page.number, page.paginator.num_pages, page.paginator.count)
