"""The bottom room: settings, text utilities, counters and process set-up that every other room may use."""
