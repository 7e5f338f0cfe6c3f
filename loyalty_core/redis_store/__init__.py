"""Redis implementations of the stores the core services use: one Lua script per state change."""
