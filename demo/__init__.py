"""The demo vault: a made-up person's six years of mail and chats, fed through the real
importers like any user's files (``demo.data`` writes them, ``demo.builder`` imports them)."""
