"""Members: profiles, privacy, languages, chats, activity and member updates."""
