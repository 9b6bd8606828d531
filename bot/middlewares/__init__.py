"""aiogram middlewares: the per-update pipeline (dedupe, member context, activity, i18n)."""
