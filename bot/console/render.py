"""The console's HTML: jinja2 with autoescaping (everything shown is escaped unless marked safe), StrictUndefined,
and a navigation that shows each user only the pages their role may open."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from loyalty_core.console_access import ROLE_NAMES, Permission, may

from ..templating import money
from .guard import SESSION

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "console"
NAVIGATION = (("dashboard", "总览 Dashboard", Permission.DASHBOARD),
              ("members", "会员 Members", Permission.MEMBERS_VIEW),
              ("birthdays", "本周生日 Birthdays", Permission.MEMBERS_ACT),
              ("member_import", "导入 Import", Permission.MEMBERS_IMPORT),
              ("campaigns", "营销活动 Campaigns", Permission.CAMPAIGNS),
              ("catalogue", "礼品与券 Catalogue", Permission.CATALOGUE),
              ("communities", "社群 Communities", Permission.COMMUNITIES),
              ("events", "活动 Events", Permission.EVENTS),
              ("inbox", "反馈 Feedback", Permission.FEEDBACK),
              ("users", "用户 Users", Permission.USERS),
              ("audit", "审计 Audit log", Permission.AUDIT))
CAMPAIGN_STATUS_NAMES = {"scheduled": "待发送 scheduled", "sending": "发送中 sending",
                         "sent": "已下发 all planned", "cancelled": "已取消 cancelled"}


def campaign_status(status: str) -> str:
    return CAMPAIGN_STATUS_NAMES.get(status, status)


def percent(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def make_console_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["percent"] = percent
    env.filters["campaign_status"] = campaign_status
    env.globals["role_names"] = ROLE_NAMES
    return env


ENVIRONMENT = make_console_environment()


def page(request: web.Request, template: str, *, status: int = 200, **context) -> web.Response:
    session = request.get(SESSION)
    nav = [(request.app.router[name].url_for(), label, name) for name, label, permission in NAVIGATION
           if session is not None and may(session.role, permission) and name in request.app.router.named_resources()]
    html = ENVIRONMENT.get_template(template).render(
        session=session, csrf=session.csrf if session else "", nav=nav, current=request.match_info.route.name,
        notice=request.query.get("done", ""), **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                            "frame-ancestors 'none'"})
