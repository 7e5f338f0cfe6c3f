"""/console/catalogue: the rewards catalogue (points, stock, member-day only) and the coupon templates (their
rules, validity and limits, how many were issued where that is counted); new items and templates are made as the
admin API makes them (POST /api/v1/admin/catalogue-items, /admin/coupon-templates), with the program file's own
checks. Nothing made can be changed afterwards, here or in the admin API: a changed offer is a new definition."""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors
from loyalty_core.catalogue import ITEM_KINDS
from loyalty_core.console_access import Permission
from loyalty_core.coupon_rules import COUPON_KINDS
from loyalty_core.program import parse_catalogue_item, parse_coupon_template

from ..api.admin import definition
from ..app_keys import SERVICES
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()
MADE_ITEM_KINDS = tuple(kind for kind in ITEM_KINDS if kind != "lottery")   # a prize table: the program file
ITEM_FIELDS = ("id", "title", "points", "kind", "template", "voucher", "valid_days", "stock", "per_member_limit",
               "min_tier", "available_from", "available_until", "description")
TEMPLATE_FIELDS = ("id", "title", "kind", "value", "min_amount", "percent_off", "max_discount", "gift", "sku",
                   "valid_from", "valid_until", "valid_days", "per_member_limit", "total_limit", "min_tier")
WHOLE_FIELDS = {"points", "valid_days", "stock", "per_member_limit", "total_limit"}
LIST_FIELDS = ("categories", "stores")


@routes.get("/catalogue", name="catalogue")
@needs(Permission.CATALOGUE)
async def catalogue(request: web.Request) -> web.Response:
    return await catalogue_page(request)


async def catalogue_page(request: web.Request, *, error: str = "", status: int = 200, form=None,
                         editing: str = "") -> web.Response:
    services = request.config_dict[SERVICES]
    items = await services.redemption.items()
    stock = {item.id: await services.redemption.stock(item.id) for item in items}
    templates = await services.coupons.templates()
    issued = {t.id: await services.coupons.issued_count(t) for t in templates}
    from_file = {i.id for i in services.program.catalogue.items} | {t.id for t in services.program.coupons.templates}
    return page(request, "catalogue.html", status=status, error=error, items=items, stock=stock,
                templates=templates, issued=issued, from_file=from_file, form=form or {}, editing=editing,
                item_kinds=MADE_ITEM_KINDS, coupon_kinds=COUPON_KINDS, tiers=services.program.tiers)


@routes.post("/catalogue/items", name="create_item")
@needs(Permission.CATALOGUE)
async def create_item(request: web.Request) -> web.Response:
    services, form = request.config_dict[SERVICES], await request.post()
    try:
        item = await services.redemption.create_item(definition(parse_catalogue_item, item_body(form)))
    except errors.DomainError as refused:
        return await catalogue_page(request, error=refused.text, status=refused.http_status, form=form,
                                    editing="item")
    await services.console.record(session_of(request).email, "catalogue.item_create", item.id,
                                  detail=f"points={item.points} kind={item.kind} stock={item.stock}")
    raise done(request, f"item {item.id} added")


@routes.post("/catalogue/templates", name="create_template")
@needs(Permission.CATALOGUE)
async def create_template(request: web.Request) -> web.Response:
    services, form = request.config_dict[SERVICES], await request.post()
    try:
        template = await services.coupons.create_template(definition(parse_coupon_template, template_body(form)))
    except errors.DomainError as refused:
        return await catalogue_page(request, error=refused.text, status=refused.http_status, form=form,
                                    editing="template")
    await services.console.record(session_of(request).email, "coupon_template.create", template.id,
                                  detail=f"kind={template.kind} total_limit={template.total_limit}")
    raise done(request, f"coupon template {template.id} added")


# -- the forms, as the admin API's JSON -----------------------------------------------------------------------
def item_body(form) -> dict:
    body = filled(form, ITEM_FIELDS)
    if form_text(form, "member_day_only") == "1":
        body["member_day_only"] = True
    return body


def template_body(form) -> dict:
    body = filled(form, TEMPLATE_FIELDS)
    for name in LIST_FIELDS:
        values = [part.strip() for part in form_text(form, name).replace("，", ",").split(",") if part.strip()]
        if values:
            body[name] = values
    if form_text(form, "member_day_only") == "1":
        body["member_day_only"] = True
    return body


def filled(form, names: tuple[str, ...]) -> dict:
    """The fields given (an empty one is left to its default); whole numbers as numbers, anything else as typed
    so that the definition's own check names the field that is wrong."""
    body = {}
    for name in names:
        raw = form_text(form, name)
        if raw:
            body[name] = int(raw) if name in WHOLE_FIELDS and raw.isascii() and raw.isdigit() else raw
    return body


def done(request: web.Request, what: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(request.app.router["catalogue"].url_for().with_query(done=what))
