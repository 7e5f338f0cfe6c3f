"""The WeChat-facing side of the mall member program: callbacks, chat handlers, pushes, HTTP APIs."""
