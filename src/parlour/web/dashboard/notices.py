"""What a change says it did, on the page it redirects to (post, redirect, get): a short-lived
cookie names one notice of a fixed list, and the page that shows it forgets it. No text travels,
so no link or other site can make a page say something else."""

from __future__ import annotations

from enum import StrEnum

NOTICE_COOKIE = "__Host-parlour_notice"


class Notice(StrEnum):
    """What a change says it did on the page it redirects to. The cookie that carries it to
    that page names one of these, never text, so nothing but this list can be said there."""

    FEATURES_SAVED = "features_saved"
    KEY_REVOKED = "key_revoked"
    SIGNING_KEY_ROTATED = "signing_key_rotated"
    CLIENT_KEY_REGISTERED = "client_key_registered"
    CLIENT_KEY_REVOKED = "client_key_revoked"
    PASSAGE_APPROVED = "passage_approved"
    PASSAGE_REJECTED = "passage_rejected"
    ORGANISATION_VERIFIED = "organisation_verified"
    ORGANISATION_REJECTED = "organisation_rejected"
    TEMPLATE_SAVED = "template_saved"
    TEMPLATE_ACTIVATED = "template_activated"
    ROLE_CHANGED = "role_changed"
    MEMBER_REMOVED = "member_removed"
    INVITATION_REVOKED = "invitation_revoked"
    SERVER_REMOVED = "server_removed"
    WEBHOOK_REMOVED = "webhook_removed"
    TIME_ZONE_SAVED = "time_zone_saved"
    TIME_ZONE_REFUSED = "time_zone_refused"
    CANNED_REPLY_SAVED = "canned_reply_saved"
    CANNED_REPLY_REMOVED = "canned_reply_removed"
    BUSINESS_HOURS_SAVED = "business_hours_saved"
    WIDGET_SAVED = "widget_saved"
    DESK_PREFERENCES_SAVED = "desk_preferences_saved"
    ENTRY_SAVED = "entry_saved"
    ENTRY_HELD = "entry_held"
    ENTRY_REMOVED = "entry_removed"
    KNOWLEDGE_PUBLISHED = "knowledge_published"
    SOURCE_REMOVED = "source_removed"
    LEARNED_PHRASING_REMOVED = "learned_phrasing_removed"
    LEARNED_PHRASING_KEPT = "learned_phrasing_kept"


NOTICES: dict[str, str] = {
    Notice.FEATURES_SAVED: "Features saved.",
    Notice.LEARNED_PHRASING_REMOVED: "The learned phrasing is removed: it no longer finds its "
    "entry.",
    Notice.LEARNED_PHRASING_KEPT: "The phrasing is one of the entry's written phrasings now, in "
    "a new version.",
    Notice.KEY_REVOKED: "The key is revoked: calls made with it are refused from now on.",
    Notice.SIGNING_KEY_ROTATED: "A new key signs your customers' chat tokens from now on.",
    Notice.CLIENT_KEY_REGISTERED: "Your public key is registered.",
    Notice.CLIENT_KEY_REVOKED: "The key is revoked: tokens signed with it are refused now.",
    Notice.PASSAGE_APPROVED: "Approved: the passage joined its source.",
    Notice.PASSAGE_REJECTED: "Rejected: the passage is deleted.",
    Notice.ORGANISATION_VERIFIED: "The organisation is verified; it sees your reason.",
    Notice.ORGANISATION_REJECTED: "The organisation's verification is declined; it sees your "
    "reason.",
    Notice.TEMPLATE_SAVED: "The template is saved.",
    Notice.TEMPLATE_ACTIVATED: "That version of the template is live now.",
    Notice.ROLE_CHANGED: "The member's role is changed.",
    Notice.MEMBER_REMOVED: "The member is removed from the organisation.",
    Notice.INVITATION_REVOKED: "The invitation is revoked: its link no longer works.",
    Notice.SERVER_REMOVED: "The server is removed: its tools are no longer offered.",
    Notice.WEBHOOK_REMOVED: "The webhook is removed: nothing more is sent to it.",
    Notice.TIME_ZONE_SAVED: "Reports read your days in this time zone from now on.",
    Notice.TIME_ZONE_REFUSED: "That is not a time zone of the IANA database (e.g. Europe/London); "
    "reports keep the one they had.",
    Notice.CANNED_REPLY_SAVED: "The canned reply is saved.",
    Notice.CANNED_REPLY_REMOVED: "The canned reply is removed.",
    Notice.BUSINESS_HOURS_SAVED: "Business hours saved: the widget reads them from now on.",
    Notice.WIDGET_SAVED: "Saved: your customers' widgets show it within five minutes.",
    Notice.DESK_PREFERENCES_SAVED: "Your desk preferences are saved; open pages use them once "
    "reloaded.",
    Notice.ENTRY_SAVED: "Saved in a new version, live now: the assistant answers from the entry "
    "as it is here.",
    Notice.ENTRY_HELD: "Saved in a new version, but screening held the entry back for review "
    "(below): it is not live until approved.",
    Notice.ENTRY_REMOVED: "Removed in a new version, live now.",
    Notice.KNOWLEDGE_PUBLISHED: "That version is live now: the assistant answers from it.",
    Notice.SOURCE_REMOVED: "The source is removed in a new version, live now.",
}
