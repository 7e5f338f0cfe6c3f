import base64

import pytest

from bot.settings import Settings, SettingsError

REQUIRED = {"WECHAT_TOKEN": "t", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s", "POS_API_SECRET": "p",
            "PII_KEY": base64.b64encode(b"k" * 32).decode()}


def test_demo_needs_nothing():
    settings = Settings.from_env({}, demo=True)
    assert settings.wechat_token == "dev-token" and settings.redis_url is None and not settings.safe_mode


def test_serve_needs_secrets_and_names_each_missing_one():
    with pytest.raises(SettingsError) as error:
        Settings.from_env({})
    text = str(error.value)
    for name in ("POS_API_SECRET", "PII_KEY", "WECHAT_TOKEN", "WECHAT_APPID"):
        assert name in text


def test_full_environment_is_read():
    env = REQUIRED | {"WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "BOT_PORT": "9000",
                      "WECHAT_API_BASE": "http://127.0.0.1:8081/", "REDIS_URL": "redis://127.0.0.1:6379/3"}
    settings = Settings.from_env(env)
    assert settings.safe_mode and settings.bot_port == 9000
    assert settings.wechat_api_base == "http://127.0.0.1:8081"
    assert settings.redis_url == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize("name, value, complaint", [
    ("WECHAT_AES_KEY", "short", "43 characters"),
    ("WECHAT_AES_KEY", "!" * 43, "43 characters of base64"),
    ("BOT_PORT", "eighty", "port number"),
    ("SANDBOX_PORT", "70000", "port number"),
    ("REDIS_URL", "localhost:6379", "redis://"),
    ("WECHAT_API_BASE", "api.weixin.qq.com", "http(s) URL"),
    ("PII_KEY", "c2hvcnQ=", "32 bytes"),
    ("PROGRAM_FILE", "/nonexistent/program.toml", "PROGRAM_FILE"),
    ("SMS_PROVIDER", "carrier-pigeon", "SMS_PROVIDER"),
])
def test_each_bad_value_gets_its_own_message(name, value, complaint):
    with pytest.raises(SettingsError) as error:
        Settings.from_env(REQUIRED | {name: value})
    assert len(error.value.problems) == 1
    assert complaint in error.value.problems[0]


def test_a_port_of_digits_int_cannot_read_is_a_settings_error():
    with pytest.raises(SettingsError) as error:
        Settings.from_env(REQUIRED | {"BOT_PORT": "፩"})
    assert "port number" in error.value.problems[0]


def test_serve_refuses_the_demo_pii_key():
    from bot.settings import DEMO_PII_KEY
    with pytest.raises(SettingsError) as error:
        Settings.from_env(REQUIRED | {"PII_KEY": DEMO_PII_KEY})
    assert "PII_KEY" in error.value.problems[0]
    assert Settings.from_env({"PII_KEY": DEMO_PII_KEY}, demo=True).pii_key == DEMO_PII_KEY
