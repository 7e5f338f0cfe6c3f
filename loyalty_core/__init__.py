"""The mall member program's business rules. Pure: no web, template, scheduler or WeChat imports."""
