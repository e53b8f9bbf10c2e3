"""What every feature shares: errors, sanitising, realtime helpers, audit, security, i18n."""
