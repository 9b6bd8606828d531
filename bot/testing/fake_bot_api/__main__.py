"""``python -m bot.testing.fake_bot_api --port 8081``: the standalone fake Bot API server."""

from bot.testing.fake_bot_api import main

if __name__ == "__main__":  # not when a tool imports every submodule
    main()
