"""Campaign texts render as jinja2's own Template.render would in the same sandbox, and refuse what it refuses."""
import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.campaign_texts import CampaignTexts
from loyalty_core import errors

VALUES = {"member": {"name": "小林", "tier_name": "金卡", "balance": 1200},
          "coupon": {"title": "服饰 85 折券", "code": "ABCD"},
          "link": lambda url: "https://mall.example/r/" + url[-4:]}
TEXTS = ["{{ member.tier_name }}专享：{{ coupon.title }}",
         "{% for n in range(2) %}{{ n }}{% endfor %} {{ member.balance // 100 }} {{ link('https://x.example/abcd') }}",
         "{% set greeting = '你好' %}{{ greeting }}，{{ member.name | default('会员') }}{{ ' ' ~ coupon.code | lower }}",
         "{{ dict(a=1)['a'] }} {{ namespace(n=3).n }} {{ cycler('x', 'y').next() }}"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_renders_as_jinja_renders_it(text):
    reference = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False).from_string(text)
    assert CampaignTexts().render(text, VALUES) == reference.render(**VALUES).strip()


@pytest.mark.parametrize("text, problem", [
    ("{{ member.nickname }}", "does not render"),
    ("{{ coupon.title", "does not render"),
    ("{{ member.balance / 0 }}", "does not render"),
    ("{{ ''.__class__.__mro__ }}", "sandbox refuses"),
    ("{{ '' }}  ", "empty message"),
])
def test_a_text_that_cannot_render_names_the_problem(text, problem):
    with pytest.raises(errors.InvalidCampaign) as refused:
        CampaignTexts().render(text, VALUES)
    assert problem in str(refused.value)
