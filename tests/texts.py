"""The reader-facing texts the issues fix word for word, written out here once
(not imported from the app, so a broken catalog or a reworded string fails)."""

THANKS = (
    "Merci d'avoir signalé ! Cette image sera automatiquement bloquée après qu'elle soit "
    "signalée par plusieurs personnes."
)
PLACEHOLDER = "Cette image a été bloquée à la suite de signalements de lecteurs."
REASONS = [
    "nudity",
    "violence",
    "hate",
    "harassment",
    "illegal",
    "copyright",
    "misleading",
    "spam",
    "other",
]
