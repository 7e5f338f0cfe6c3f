"""The account's custom menu (≤ 3 top buttons × ≤ 5 sub-buttons); every click key is claimed by a handler."""
from __future__ import annotations


def click(name: str, key: str) -> dict:
    return {"type": "click", "name": name, "key": key}


MENU = {"button": [
    {"name": "会员中心", "sub_button": [
        click("我的积分", "MY_POINTS"),
        click("会员码", "MEMBER_CODE"),
        click("积分明细", "MY_HISTORY"),
        click("会员等级", "MY_TIER"),
        click("绑定手机", "BIND_PHONE"),
    ]},
    {"name": "会员福利", "sub_button": [
        click("积分兑换", "REDEEM"),
        click("我的券", "MY_COUPONS"),
        click("生日礼", "BIRTHDAY_GIFT"),
        click("推荐有礼", "MY_REFERRAL"),
        click("会员日抽奖", "MEMBER_DAY_DRAW"),
    ]},
    {"name": "更多", "sub_button": [
        click("我的生日", "MY_BIRTHDAY"),
        click("兴趣社群", "COMMUNITIES"),
        click("会员活动", "EVENTS"),
        click("人工客服", "CUSTOMER_SERVICE"),
        click("帮助", "HELP"),
    ]},
]}


def click_keys(menu: dict = MENU) -> list[str]:
    keys = []
    for button in menu["button"]:
        for item in button.get("sub_button", [button]):
            if item.get("type") == "click":
                keys.append(item["key"])
    return keys
