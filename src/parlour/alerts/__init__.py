"""An organisation's security monitoring (issue 21): its security figures per local day, and
alerts when one jumps above its own baseline, by e-mail to its admins and owners and as the
signed webhook event `security.alert`, rate-limited and holding counts and reasons only (T-106).
docs/alerts.md."""
