import base64

import pytest

from bot.settings import DEMO_ADMIN_SECRET, DEMO_POS_SECRET, Settings, SettingsError

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
REQUIRED = {"WECHAT_TOKEN": "t", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s", "WECHAT_AES_KEY": AES_KEY,
            "POS_API_SECRET": "p", "ADMIN_API_SECRET": "a", "PII_KEY": base64.b64encode(b"k" * 32).decode()}


def test_demo_needs_nothing():
    settings = Settings.from_env({}, demo=True)
    assert settings.wechat_token == "dev-token" and settings.redis_url is None and not settings.safe_mode
    assert (settings.pos_api_secret, settings.admin_api_secret) == (DEMO_POS_SECRET, DEMO_ADMIN_SECRET)


def test_serve_needs_secrets_and_names_each_missing_one():
    with pytest.raises(SettingsError) as error:
        Settings.from_env({})
    text = str(error.value)
    for name in ("POS_API_SECRET", "ADMIN_API_SECRET", "PII_KEY", "WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_AES_KEY"):
        assert name in text


def test_full_environment_is_read():
    env = REQUIRED | {"BOT_PORT": "9000", "WECHAT_API_BASE": "http://127.0.0.1:8081/",
                      "REDIS_URL": "redis://127.0.0.1:6379/3"}
    settings = Settings.from_env(env)
    assert settings.safe_mode and settings.bot_port == 9000 and not settings.allow_plaintext
    assert settings.wechat_api_base == "http://127.0.0.1:8081"
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert (settings.pos_api_secret, settings.admin_api_secret) == ("p", "a")


def test_a_redis_cluster_is_named_by_one_seed_node():
    settings = Settings.from_env(REQUIRED | {"REDIS_URL": "redis+cluster://10.0.0.5:7000"})
    assert settings.redis_url == "redis+cluster://10.0.0.5:7000"


def test_serve_refuses_plaintext_callbacks_in_one_line_that_says_why():
    without_key = {name: value for name, value in REQUIRED.items() if name != "WECHAT_AES_KEY"}
    with pytest.raises(SettingsError) as error:
        Settings.from_env(without_key)
    [problem] = error.value.problems
    assert "\n" not in problem and "timestamp and nonce only" in problem and "WECHAT_ALLOW_PLAINTEXT=1" in problem
    allowed = Settings.from_env(without_key | {"WECHAT_ALLOW_PLAINTEXT": "1"})
    assert not allowed.safe_mode and allowed.allow_plaintext


def test_the_admin_secret_must_not_be_the_tills():
    with pytest.raises(SettingsError) as error:
        Settings.from_env(REQUIRED | {"ADMIN_API_SECRET": REQUIRED["POS_API_SECRET"]})
    [problem] = error.value.problems
    assert "ADMIN_API_SECRET must differ from POS_API_SECRET" in problem


@pytest.mark.parametrize("name, value, complaint", [
    ("WECHAT_AES_KEY", "short", "43 characters"),
    ("WECHAT_AES_KEY", "!" * 43, "43 characters of base64"),
    ("BOT_PORT", "eighty", "port number"),
    ("SANDBOX_PORT", "70000", "port number"),
    ("REDIS_URL", "localhost:6379", "redis://"),
    ("REDIS_URL", "redis+cluster://127.0.0.1:7000/3", "database 0 only"),
    ("WECHAT_API_BASE", "api.weixin.qq.com", "http(s) URL"),
    ("PII_KEY", "c2hvcnQ=", "32 bytes"),
    ("PROGRAM_FILE", "/nonexistent/program.toml", "PROGRAM_FILE"),
    ("SMS_PROVIDER", "carrier-pigeon", "SMS_PROVIDER"),
    ("WECHAT_ALLOW_PLAINTEXT", "yes", "must be 1 or unset"),
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


def test_the_scheduler_and_the_sender_need_neither_the_callback_token_nor_the_api_secrets():
    env = {"PII_KEY": REQUIRED["PII_KEY"], "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s",
           "REDIS_URL": "redis://127.0.0.1:6379/3"}
    settings = Settings.from_env(env, web=False)
    assert settings.redis_url == env["REDIS_URL"] and settings.pos_api_secret is None
    with pytest.raises(SettingsError, match="POS_API_SECRET is required"):
        Settings.from_env(env)
